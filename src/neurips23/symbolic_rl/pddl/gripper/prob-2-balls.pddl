; Gripper with two balls, all in room a; the goal moves them to room b.
(define (problem gripper-2)
  (:domain gripper-typed)
  (:objects rooma roomb - room ball1 ball2 - ball left right - gripper)
  (:init (at-robby rooma) (free left) (free right) (at ball1 rooma) (at ball2 rooma))
  (:goal (and (at ball1 roomb) (at ball2 roomb))))
