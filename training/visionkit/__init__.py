"""Model kit of the vision services: trains, exports and documents the demo models.

Stages (run with ``python -m visionkit STAGE...`` or ``training/make-models.sh``):
``lenet``, ``fashion-cnn``, ``caption``, ``samples``, ``centernet`` (a pretrained COCO
detector converted from TF.js, with the photographs of ``samples/photos``). The reference zoo is made
separately by ``python -m visionkit.zoo`` (``training/make-zoo.sh``).
"""

import os as _os

# PyTorch parallelises with OpenMP; a multi-threaded OpenBLAS underneath competes with it
# for the same cores and slows small matrix products (LSTM, fully connected) a lot.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
