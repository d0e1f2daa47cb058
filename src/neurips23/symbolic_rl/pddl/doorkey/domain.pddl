; DoorKey (after MiniGrid's DoorKey-NxN) as STRIPS: pick up the key, unlock the door in the
; wall between two rooms, walk to the goal cell. The agent moves between adjacent cells
; directly (MiniGrid's turn-left / turn-right / forward are folded into one move).
(define (domain doorkey)
  (:requirements :strips :typing)
  (:types cell key)
  (:predicates (at-agent ?c - cell) (adj ?a ?b - cell) (passable ?c - cell) (locked ?c - cell)
               (key-at ?k - key ?c - cell) (holding ?k - key) (handempty))
  (:action move
    :parameters (?from ?to - cell)
    :precondition (and (at-agent ?from) (adj ?from ?to) (passable ?to))
    :effect (and (at-agent ?to) (not (at-agent ?from))))
  (:action pickup
    :parameters (?k - key ?c - cell)
    :precondition (and (at-agent ?c) (key-at ?k ?c) (handempty))
    :effect (and (holding ?k) (not (key-at ?k ?c)) (not (handempty))))
  (:action unlock
    :parameters (?from ?to - cell ?k - key)
    :precondition (and (at-agent ?from) (adj ?from ?to) (locked ?to) (holding ?k))
    :effect (and (passable ?to) (not (locked ?to)))))
