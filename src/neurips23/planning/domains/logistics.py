"""Logistics (IPC 1998): trucks move packages within a city, airplanes between airports of
different cities. `DOMAIN_PDDL` is the untyped STRIPS form PlanBench uses (`logistics-strips`,
types as static predicates, objects `p0 t0 a0 l0-0 c0`); `TYPED_DOMAIN_PDDL` is the typed
variant."""

from __future__ import annotations

import random

from neurips23.pddl.parser import Problem

DOMAIN_PDDL = """\
(define (domain logistics-strips)
  (:requirements :strips)
  (:predicates (obj ?obj) (truck ?truck) (location ?loc) (airplane ?airplane) (city ?city)
               (airport ?airport) (at ?obj ?loc) (in ?obj1 ?obj2) (in-city ?obj ?city))
  (:action load-truck
    :parameters (?obj ?truck ?loc)
    :precondition (and (obj ?obj) (truck ?truck) (location ?loc) (at ?truck ?loc) (at ?obj ?loc))
    :effect (and (not (at ?obj ?loc)) (in ?obj ?truck)))
  (:action load-airplane
    :parameters (?obj ?airplane ?loc)
    :precondition (and (obj ?obj) (airplane ?airplane) (location ?loc) (at ?obj ?loc)
                       (at ?airplane ?loc))
    :effect (and (not (at ?obj ?loc)) (in ?obj ?airplane)))
  (:action unload-truck
    :parameters (?obj ?truck ?loc)
    :precondition (and (obj ?obj) (truck ?truck) (location ?loc) (at ?truck ?loc)
                       (in ?obj ?truck))
    :effect (and (not (in ?obj ?truck)) (at ?obj ?loc)))
  (:action unload-airplane
    :parameters (?obj ?airplane ?loc)
    :precondition (and (obj ?obj) (airplane ?airplane) (location ?loc) (in ?obj ?airplane)
                       (at ?airplane ?loc))
    :effect (and (not (in ?obj ?airplane)) (at ?obj ?loc)))
  (:action drive-truck
    :parameters (?truck ?loc-from ?loc-to ?city)
    :precondition (and (truck ?truck) (location ?loc-from) (location ?loc-to) (city ?city)
                       (at ?truck ?loc-from) (in-city ?loc-from ?city) (in-city ?loc-to ?city))
    :effect (and (not (at ?truck ?loc-from)) (at ?truck ?loc-to)))
  (:action fly-airplane
    :parameters (?airplane ?loc-from ?loc-to)
    :precondition (and (airplane ?airplane) (airport ?loc-from) (airport ?loc-to)
                       (at ?airplane ?loc-from))
    :effect (and (not (at ?airplane ?loc-from)) (at ?airplane ?loc-to))))
"""

TYPED_DOMAIN_PDDL = """\
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
    """A random instance as PlanBench's generator makes them: one truck and one airport (the
    first location) per city, airplanes at airports, packages anywhere; goals put packages
    elsewhere. Types are static atoms (`(truck t0)`), as in `logistics-strips`."""
    objects: dict[str, str] = {}
    init = set()
    places: list[str] = []
    airports: list[str] = []
    for a in range(airplanes):
        objects[f"a{a}"] = "object"
        init.add(("airplane", f"a{a}"))
    for c in range(cities):
        objects[f"c{c}"] = "object"
        init.add(("city", f"c{c}"))
    for c in range(cities):
        objects[f"t{c}"] = "object"
        init.add(("truck", f"t{c}"))
    for c in range(cities):
        for l_ in range(locations):
            loc = f"l{c}-{l_}"
            objects[loc] = "object"
            init |= {("location", loc), ("in-city", loc, f"c{c}")}
            places.append(loc)
        airports.append(f"l{c}-0")
        init.add(("airport", f"l{c}-0"))
        init.add(("at", f"t{c}", rng.choice([p for p in places if p.startswith(f"l{c}-")])))
    for a in range(airplanes):
        init.add(("at", f"a{a}", rng.choice(airports)))
    goal = []
    for k in range(packages):
        pkg = f"p{k}"
        objects[pkg] = "object"
        init |= {("obj", pkg), ("at", pkg, rng.choice(places))}
        goal.append(("at", pkg, rng.choice(places)))
    return Problem(name, "logistics-strips", objects, frozenset(init), tuple(goal))


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
