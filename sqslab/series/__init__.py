"""Running the notebook series: executing it in order (tutorial) in kernels started ahead
(kernels), the handouts written from it (handouts), its navigation and Colab cells
(nav), and the recorded run the notebooks can draw instead of live logs (recording)."""
