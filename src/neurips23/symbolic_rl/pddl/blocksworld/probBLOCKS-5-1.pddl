; IPC 2000 Blocksworld, probBLOCKS-5-1.
(define (problem blocks-5-1)
  (:domain blocksworld-4ops)
  (:objects a d c e b)
  (:init (clear b) (clear e) (clear c) (ontable d) (ontable e) (ontable c) (on b a) (on a d)
         (handempty))
  (:goal (and (on d c) (on c b) (on b a) (on a e))))
