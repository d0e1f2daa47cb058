"""Logistics (IPC 2000, typed STRIPS): trucks move packages within a city, airplanes between
airports of different cities."""

from __future__ import annotations

import random

from neurips23.planning.pddl import Problem

DOMAIN_PDDL = """\
(define (domain logistics)
  (:requirements :strips :typing)
  (:types truck airplane - vehicle
          package vehicle - physobj
          airport location - place
          city place physobj - object)
  (:predicates (in-city ?loc - place ?city - city)
               (at ?obj - physobj ?loc - place)
               (in ?pkg - package ?veh - vehicle))
  (:action load-truck
    :parameters (?pkg - package ?truck - truck ?loc - place)
    :precondition (and (at ?truck ?loc) (at ?pkg ?loc))
    :effect (and (not (at ?pkg ?loc)) (in ?pkg ?truck)))
  (:action load-airplane
    :parameters (?pkg - package ?airplane - airplane ?loc - place)
    :precondition (and (at ?pkg ?loc) (at ?airplane ?loc))
    :effect (and (not (at ?pkg ?loc)) (in ?pkg ?airplane)))
  (:action unload-truck
    :parameters (?pkg - package ?truck - truck ?loc - place)
    :precondition (and (at ?truck ?loc) (in ?pkg ?truck))
    :effect (and (not (in ?pkg ?truck)) (at ?pkg ?loc)))
  (:action unload-airplane
    :parameters (?pkg - package ?airplane - airplane ?loc - place)
    :precondition (and (in ?pkg ?airplane) (at ?airplane ?loc))
    :effect (and (not (in ?pkg ?airplane)) (at ?pkg ?loc)))
  (:action drive-truck
    :parameters (?truck - truck ?loc-from - place ?loc-to - place ?city - city)
    :precondition (and (at ?truck ?loc-from) (in-city ?loc-from ?city) (in-city ?loc-to ?city))
    :effect (and (not (at ?truck ?loc-from)) (at ?truck ?loc-to)))
  (:action fly-airplane
    :parameters (?airplane - airplane ?loc-from - airport ?loc-to - airport)
    :precondition (at ?airplane ?loc-from)
    :effect (and (not (at ?airplane ?loc-from)) (at ?airplane ?loc-to))))
"""


def random_problem(name: str, rng: random.Random, cities: int = 2, locations: int = 2,
                   packages: int = 2, airplanes: int = 1) -> Problem:
    """A random instance like the IPC generator: one truck and one airport per city (the
    first location), airplanes at airports, packages anywhere; goals put packages elsewhere."""
    objects: dict[str, str] = {}
    init = set()
    places: list[str] = []
    airports: list[str] = []
    for c in range(cities):
        city = f"c{c}"
        objects[city] = "city"
        for l_ in range(locations):
            loc = f"l{c}-{l_}"
            objects[loc] = "airport" if l_ == 0 else "location"
            init.add(("in-city", loc, city))
            places.append(loc)
        airports.append(f"l{c}-0")
        truck = f"t{c}"
        objects[truck] = "truck"
        init.add(("at", truck, rng.choice([p for p in places if p.startswith(f"l{c}-")])))
    for a in range(airplanes):
        objects[f"a{a}"] = "airplane"
        init.add(("at", f"a{a}", rng.choice(airports)))
    goal = []
    for k in range(packages):
        pkg = f"p{k}"
        objects[pkg] = "package"
        start = rng.choice(places)
        init.add(("at", pkg, start))
        goal.append(("at", pkg, rng.choice(places)))
    return Problem(name, "logistics", objects, frozenset(init), tuple(goal))


def generate_problems(count: int, rng: random.Random, min_plan_length: int = 3,
                      **sizes) -> list[Problem]:
    """Distinct random instances whose goal does not already hold (PlanBench also requires an
    optimal plan of length >= 3; that filter is applied by the caller that plans)."""
    out: list[Problem] = []
    seen: set = set()
    tries = 0
    while len(out) < count and tries < 200 * count + 100:
        tries += 1
        p = random_problem("", rng, **sizes)
        if set(p.goal) <= p.init or (p.init, p.goal) in seen:
            continue
        seen.add((p.init, p.goal))
        p.name = f"logistics-{len(out) + 1}"
        out.append(p)
    return out
