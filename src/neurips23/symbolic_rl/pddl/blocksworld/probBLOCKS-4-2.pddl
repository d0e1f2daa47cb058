; IPC 2000 Blocksworld, probBLOCKS-4-2.
(define (problem blocks-4-2)
  (:domain blocksworld-4ops)
  (:objects b d c a)
  (:init (clear a) (clear c) (clear d) (ontable a) (ontable b) (ontable d) (on c b) (handempty))
  (:goal (and (on a b) (on b c) (on c d))))
