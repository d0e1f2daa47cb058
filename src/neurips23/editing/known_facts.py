"""Candidate facts about the world for a real pretrained model: capitals, official languages,
countries of cities and landmarks, continents, currencies. `candidate_facts()` turns them into
Facts (prompt, held-out paraphrase, a counterfactual object from the same relation, and
neighbours: other subjects of the relation with the same object); `known_facts()` keeps
those a given model completes greedily, so tracing and editing start from facts it knows.
"""

from __future__ import annotations

import random

from neurips23.editing.facts import Fact

# relation: (prompt, paraphrase, "subject=object; ...")
RELATIONS: dict[str, tuple[str, str, str]] = {
    "capital": (
        "The capital of {} is", "The capital city of {} is",
        "France=Paris; Germany=Berlin; Italy=Rome; Spain=Madrid; Portugal=Lisbon; Japan=Tokyo; "
        "China=Beijing; Russia=Moscow; Egypt=Cairo; Greece=Athens; Austria=Vienna; "
        "Hungary=Budapest; Poland=Warsaw; Ireland=Dublin; Norway=Oslo; Sweden=Stockholm; "
        "Finland=Helsinki; Denmark=Copenhagen; Belgium=Brussels; Netherlands=Amsterdam; "
        "Thailand=Bangkok; Vietnam=Hanoi; Kenya=Nairobi; Peru=Lima; Chile=Santiago; "
        "Argentina=Buenos Aires; Cuba=Havana; Iran=Tehran; Iraq=Baghdad; Syria=Damascus; "
        "Lebanon=Beirut; Afghanistan=Kabul; Ukraine=Kyiv; Romania=Bucharest; Bulgaria=Sofia; "
        "Serbia=Belgrade; Czech Republic=Prague; South Korea=Seoul; Indonesia=Jakarta; "
        "Philippines=Manila; Mexico=Mexico City; Colombia=Bogota; Venezuela=Caracas; "
        "Ethiopia=Addis Ababa; Morocco=Rabat; Saudi Arabia=Riyadh; Canada=Ottawa; "
        "Australia=Canberra; England=London; Scotland=Edinburgh; Iceland=Reykjavik; "
        "Nepal=Kathmandu; Malaysia=Kuala Lumpur; Pakistan=Islamabad; Turkey=Ankara"),
    "language": (
        "The official language of {} is", "In {}, the main language spoken is",
        "France=French; Germany=German; Italy=Italian; Spain=Spanish; Portugal=Portuguese; "
        "Brazil=Portuguese; Mexico=Spanish; Argentina=Spanish; Colombia=Spanish; Peru=Spanish; "
        "Chile=Spanish; Cuba=Spanish; Japan=Japanese; China=Chinese; Russia=Russian; "
        "Egypt=Arabic; Saudi Arabia=Arabic; Iraq=Arabic; Syria=Arabic; Morocco=Arabic; "
        "Jordan=Arabic; Greece=Greek; Turkey=Turkish; Poland=Polish; Sweden=Swedish; "
        "Norway=Norwegian; Finland=Finnish; Denmark=Danish; Netherlands=Dutch; Austria=German; "
        "Hungary=Hungarian; Romania=Romanian; Iran=Persian; Israel=Hebrew; Vietnam=Vietnamese; "
        "Thailand=Thai; South Korea=Korean; Ukraine=Ukrainian; Czech Republic=Czech; "
        "England=English; Australia=English; Ireland=English; Indonesia=Indonesian"),
    "city_country": (
        "{} is a city in", "The city of {} is located in",
        "Paris=France; Lyon=France; Marseille=France; Berlin=Germany; Munich=Germany; "
        "Hamburg=Germany; Frankfurt=Germany; Rome=Italy; Milan=Italy; Naples=Italy; "
        "Venice=Italy; Florence=Italy; Madrid=Spain; Barcelona=Spain; Seville=Spain; "
        "Valencia=Spain; Tokyo=Japan; Osaka=Japan; Kyoto=Japan; Beijing=China; Shanghai=China; "
        "Moscow=Russia; Toronto=Canada; Vancouver=Canada; Montreal=Canada; Sydney=Australia; "
        "Melbourne=Australia; Mumbai=India; Delhi=India; Cairo=Egypt; Istanbul=Turkey; "
        "Lisbon=Portugal; Porto=Portugal; Amsterdam=Netherlands; Rotterdam=Netherlands; "
        "Athens=Greece; Vienna=Austria; Warsaw=Poland; Krakow=Poland; Dublin=Ireland; "
        "Stockholm=Sweden; Oslo=Norway; Helsinki=Finland; Copenhagen=Denmark; Seoul=Korea; "
        "Bangkok=Thailand; Manchester=England; Liverpool=England; Chicago=Illinois; "
        "Houston=Texas; Dallas=Texas"),
    "landmark_country": (
        "{} is located in the country of", "The country where {} stands is",
        "the Eiffel Tower=France; the Louvre=France; the Colosseum=Italy; "
        "the Leaning Tower of Pisa=Italy; the Vatican=Italy; the Sagrada Familia=Spain; "
        "the Alhambra=Spain; Big Ben=England; Stonehenge=England; Buckingham Palace=England; "
        "the Taj Mahal=India; the Great Wall=China; the Forbidden City=China; "
        "Mount Fuji=Japan; the Kremlin=Russia; the Acropolis=Greece; the Parthenon=Greece; "
        "the Pyramids of Giza=Egypt; the Sphinx=Egypt; the Brandenburg Gate=Germany; "
        "Neuschwanstein Castle=Germany; the Sydney Opera House=Australia; "
        "Uluru=Australia; Machu Picchu=Peru; Angkor Wat=Cambodia; Petra=Jordan; "
        "Niagara Falls=Canada; the CN Tower=Canada; Chichen Itza=Mexico; "
        "the Hagia Sophia=Turkey; the Statue of Liberty=America; Mount Rushmore=America"),
    "continent": (
        "{} is a country in the continent of", "The country of {} is part of",
        "France=Europe; Germany=Europe; Italy=Europe; Spain=Europe; Poland=Europe; "
        "Sweden=Europe; Norway=Europe; Greece=Europe; Austria=Europe; Hungary=Europe; "
        "Portugal=Europe; Belgium=Europe; Japan=Asia; China=Asia; India=Asia; Thailand=Asia; "
        "Vietnam=Asia; Indonesia=Asia; Pakistan=Asia; Nepal=Asia; Mongolia=Asia; "
        "Kenya=Africa; Nigeria=Africa; Egypt=Africa; Ethiopia=Africa; Ghana=Africa; "
        "Morocco=Africa; Tanzania=Africa; Uganda=Africa; Senegal=Africa; Brazil=South America; "
        "Argentina=South America; Peru=South America; Chile=South America; "
        "Colombia=South America; Bolivia=South America; Venezuela=South America; "
        "Canada=North America; Mexico=North America"),
    "currency": (
        "The currency of {} is the", "In {}, people pay with the",
        "Japan=yen; China=yuan; India=rupee; Pakistan=rupee; Russia=ruble; England=pound; "
        "Egypt=pound; Mexico=peso; Argentina=peso; Chile=peso; Colombia=peso; "
        "Philippines=peso; Brazil=real; South Korea=won; Poland=zloty; Sweden=krona; "
        "Norway=krone; Denmark=krone; Thailand=baht; Turkey=lira; Israel=shekel; "
        "Vietnam=dong; Switzerland=franc; France=euro; Germany=euro; Italy=euro; Spain=euro; "
        "Portugal=euro; Greece=euro; Austria=euro; Ireland=euro; Finland=euro; "
        "Netherlands=euro; Belgium=euro; Canada=dollar; Australia=dollar; "
        "Singapore=dollar; New Zealand=dollar"),
}


def relation_pairs(relation: str) -> list[tuple[str, str]]:
    """(subject, object) pairs of one relation."""
    body = RELATIONS[relation][2]
    return [tuple(x.strip() for x in item.split("=", 1)) for item in body.split(";")]


def candidate_facts(seed: int = 0, n_neighbours: int = 5) -> list[Fact]:
    """Every candidate as a Fact with a held-out paraphrase, a counterfactual object of the same
    relation (seeded) and up to `n_neighbours` neighbours (same relation, same object)."""
    rng = random.Random(seed)
    out = []
    for rel, (prompt, para, _) in RELATIONS.items():
        pairs = relation_pairs(rel)
        objects = sorted({o for _, o in pairs})
        for s, o in pairs:
            others = [x for x, y in pairs if y == o and x != s]
            neigh = rng.sample(others, min(n_neighbours, len(others)))
            out.append(Fact(subject=s, prompt=prompt, target_true=o,
                            target_new=rng.choice([x for x in objects if x != o]),
                            paraphrase=(para.format(s),),
                            neighbours=tuple(prompt.format(x) for x in neigh), relation=rel))
    return out


def greedy_known(model, tok, facts: list[Fact], batch_size: int = 32) -> list[bool]:
    """Whether the model's greedy continuation of each fact's prompt is its object (every
    object token the argmax, teacher-forced; the same as greedy decoding of that length)."""
    import torch

    from neurips23.editing.prompts import encode

    known = []
    for i in range(0, len(facts), batch_size):
        chunk = facts[i:i + batch_size]
        enc = encode(tok, [f.text for f in chunk], [f.subject for f in chunk],
                     [f.target_true for f in chunk], device=model.device)
        with torch.no_grad():
            logits = model(input_ids=enc.input_ids, attention_mask=enc.attention_mask,
                           use_cache=False).logits
        for r in range(len(chunk)):
            top = logits[r, enc.target_pos[r]].argmax(-1).tolist()
            known.append(top == enc.target_ids[r])
    return known


def known_facts(model, tok, seed: int = 0, n_neighbours: int = 5) -> list[Fact]:
    """The candidates the model knows; their neighbours and counterfactual objects are
    restricted to known facts of the same relation."""
    facts = candidate_facts(seed, n_neighbours=10**6)
    ok = greedy_known(model, tok, facts)
    keep = [f for f, k in zip(facts, ok, strict=True) if k]
    known_prompts = {f.text for f in keep}
    rng = random.Random(seed + 1)
    out = []
    for f in keep:
        neigh = [p for p in f.neighbours if p in known_prompts]
        objs = sorted({g.target_true for g in keep if g.relation == f.relation} - {f.target_true})
        new = rng.choice(objs) if objs else f.target_new
        out.append(Fact(f.subject, f.prompt, f.target_true, new, f.paraphrase,
                        tuple(rng.sample(neigh, min(n_neighbours, len(neigh)))), f.relation))
    return out
