"""A training run used by the resume test: `python train_script.py OUT_DIR STEPS SLEEP`."""

import hashlib
import json
import sys
import time

from neurips23.lm.models import build_model
from neurips23.lm.tasks import get_task
from neurips23.lm.tokenizers import build_char_tokenizer
from neurips23.lm.train import TrainConfig, masked_lm_loss, train_causal_lm

out_dir, steps, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
task = get_task("reverse")
tok = build_char_tokenizer(task.alphabet)
model = build_model("nano", len(tok), seed=0)


def slow_loss(m, batch):
    time.sleep(pause)  # gives the test time to kill the run between checkpoints
    return masked_lm_loss(m, batch)


cfg = TrainConfig(steps=steps, batch_size=8, lr=1e-2, checkpoint_every=4, log_every=1, seed=3,
                  warmup_steps=3)
result = train_causal_lm(model, tok, task.make(200, 0), cfg, out_dir=out_dir, progress=False,
                         loss_fn=slow_loss)
digest = hashlib.sha256()
for name, p in sorted(model.state_dict().items()):
    digest.update(name.encode())
    digest.update(p.detach().contiguous().numpy().tobytes())
weights = digest.hexdigest()  # equal digests = every tensor bit-identical
print(json.dumps({"final_loss": result.final_loss, "weights": weights,
                  "resumed_from": result.resumed_from}))
