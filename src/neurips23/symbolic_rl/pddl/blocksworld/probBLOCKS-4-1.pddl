; IPC 2000 Blocksworld, probBLOCKS-4-1 (initial state and goal as in the competition set).
(define (problem blocks-4-1)
  (:domain blocksworld-4ops)
  (:objects a c d b)
  (:init (clear b) (ontable d) (on b c) (on c a) (on a d) (handempty))
  (:goal (and (on d c) (on c a) (on a b))))
