"""The paper's Game of 24 prompts (official repo `prompts/game24.py`), and zero-shot forms.

`few_shot=True` gives the paper's prompts verbatim (5-shot IO/CoT, 1-shot propose,
few-shot value and final-answer judge). `few_shot=False` keeps each format's last block
only (the same "Input:", "Possible next steps:", "(left: ...)", "Judge:" lines) for
models trained on the format, such as the reproduction's tiny model.
"""

from __future__ import annotations

STANDARD = """Use numbers and basic arithmetic operations (+ - * /) to obtain 24.
Input: 4 4 6 8
Answer: (4 + 8) * (6 - 4) = 24
Input: 2 9 10 12
Answer: 2 * 12 * (10 - 9) = 24
Input: 4 9 10 13
Answer: (13 - 9) * (10 - 4) = 24
Input: 1 4 8 8
Answer: (8 / 4 + 1) * 8 = 24
Input: 5 5 5 9
Answer: 5 + 5 + 5 + 9 = 24
"""

COT = """Use numbers and basic arithmetic operations (+ - * /) to obtain 24. \
Each step, you are only allowed to choose two of the remaining numbers to obtain a new number.
Input: 4 4 6 8
Steps:
4 + 8 = 12 (left: 4 6 12)
6 - 4 = 2 (left: 2 12)
2 * 12 = 24 (left: 24)
Answer: (6 - 4) * (4 + 8) = 24
Input: 2 9 10 12
Steps:
12 * 2 = 24 (left: 9 10 24)
10 - 9 = 1 (left: 1 24)
24 * 1 = 24 (left: 24)
Answer: (12 * 2) * (10 - 9) = 24
Input: 4 9 10 13
Steps:
13 - 10 = 3 (left: 3 4 9)
9 - 3 = 6 (left: 4 6)
4 * 6 = 24 (left: 24)
Answer: 4 * (9 - (13 - 10)) = 24
Input: 1 4 8 8
Steps:
8 / 4 = 2 (left: 1 2 8)
1 + 2 = 3 (left: 3 8)
3 * 8 = 24 (left: 24)
Answer: (1 + 8 / 4) * 8 = 24
Input: 5 5 5 9
Steps:
5 + 5 = 10 (left: 5 9 10)
10 + 5 = 15 (left: 9 15)
15 + 9 = 24 (left: 24)
Answer: ((5 + 5) + 5) + 9 = 24
"""

PROPOSE = """Input: 2 8 8 14
Possible next steps:
2 + 8 = 10 (left: 8 10 14)
8 / 2 = 4 (left: 4 8 14)
14 + 2 = 16 (left: 8 8 16)
2 * 8 = 16 (left: 8 14 16)
8 - 2 = 6 (left: 6 8 14)
14 - 8 = 6 (left: 2 6 8)
14 /  2 = 7 (left: 7 8 8)
14 - 2 = 12 (left: 8 8 12)
"""

VALUE = """Evaluate if given numbers can reach 24 (sure/likely/impossible)
10 14
10 + 14 = 24
sure
11 12
11 + 12 = 23
12 - 11 = 1
11 * 12 = 132
11 / 12 = 0.91
impossible
4 4 10
4 + 4 + 10 = 8 + 10 = 18
4 * 10 - 4 = 40 - 4 = 36
(10 - 4) * 4 = 6 * 4 = 24
sure
4 9 11
9 + 11 + 4 = 20 + 4 = 24
sure
5 7 8
5 + 7 + 8 = 12 + 8 = 20
(8 - 5) * 7 = 3 * 7 = 21
I cannot obtain 24 now, but numbers are within a reasonable range
likely
5 6 6
5 + 6 + 6 = 17
(6 - 5) * 6 = 1 * 6 = 6
I cannot obtain 24 now, but numbers are within a reasonable range
likely
10 10 11
10 + 10 + 11 = 31
(11 - 10) * 10 = 10
10 10 10 are all too big
impossible
1 3 3
1 * 3 * 3 = 9
(1 + 3) * 3 = 12
1 3 3 are all too small
impossible
"""

JUDGE = """Use numbers and basic arithmetic operations (+ - * /) to obtain 24. Given an input \
and an answer, give a judgement (sure/impossible) if the answer is correct, i.e. it uses each \
input exactly once and no other numbers, and reach 24.
Input: 4 4 6 8
Answer: (4 + 8) * (6 - 4) = 24
Judge:
sure
Input: 2 9 10 12
Answer: 2 * 12 * (10 - 9) = 24
Judge:
sure
Input: 4 9 10 13
Answer: (13 - 9) * (10 - 4) = 24
Judge:
sure
Input: 4 4 6 8
Answer: (4 + 8) * (6 - 4) + 1 = 25
Judge:
impossible
Input: 2 9 10 12
Answer: 2 * (12 - 10) = 24
Judge:
impossible
Input: 4 9 10 13
Answer: (13 - 4) * (10 - 9) = 24
Judge:
impossible
"""


def io_prompt(x: str, few_shot: bool = True) -> str:
    """Standard (IO) prompt: the model writes "Answer: expr = 24"."""
    if few_shot:  # the repo's prompt ends at the input line; the model writes "Answer: ..."
        return STANDARD + f"Input: {x}\n"
    return f"Input: {x}\nAnswer:"


def cot_prompt(x: str, few_shot: bool = True) -> str:
    """CoT prompt: the model writes "Steps:", "a op b = c (left: ...)" lines, the answer."""
    if few_shot:
        return COT + f"Input: {x}\n"
    return f"Input: {x}\nSteps:\n"


def answer_prompt(x: str, steps: str, few_shot: bool = True) -> str:
    """Last ToT step (only 24 left): the CoT prompt continued by the steps so far."""
    return (COT if few_shot else "") + f"Input: {x}\nSteps:\n{steps}"


def propose_prompt(numbers: str, few_shot: bool = True) -> str:
    """1-shot propose prompt: the model lists possible next steps, one per line."""
    return (PROPOSE if few_shot else "") + f"Input: {numbers}\nPossible next steps:\n"


def value_prompt(numbers: str, few_shot: bool = True) -> str:
    """Value prompt: the model ends with sure/likely/impossible."""
    return (VALUE if few_shot else "") + f"{numbers}\n"


def judge_prompt(x: str, answer: str, few_shot: bool = True) -> str:
    """Final-answer judge prompt: the model ends with sure/impossible."""
    return (JUDGE if few_shot else "") + f"Input: {x}\nAnswer: {answer}\nJudge:\n"


def vote_prompt(instruction: str, choices: list[str]) -> str:
    """The repo's generic vote prompt (text task): pick the most promising choice."""
    lines = [
        "Given an instruction and several choices, decide which choice is most promising. "
        "Analyze each choice in detail, then conclude in the last line "
        '"The best choice is {s}", where s the integer id of the choice.',
        f"Instruction: {instruction}",
    ]
    lines += [f"Choice {i}:\n{c}" for i, c in enumerate(choices, 1)]
    return "\n".join(lines) + "\n"
