"""OpenCV reference for bench/preprocess.sh: the same ImageNet recipe, one thread.

cv2.imdecode, resize the shorter side to 256 (INTER_LINEAR), centre crop 224, BGR to RGB,
normalise to float32 CHW. Usage: python3 opencv_reference.py IMAGE.jpg SECONDS
"""
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)
data = np.frombuffer(open(sys.argv[1], "rb").read(), dtype=np.uint8)
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
std = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def prepare():
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    if w <= h:
        nw, nh = 256, int(256 * h / w)
    else:
        nw, nh = int(256 * w / h), 256
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    top, left = round((nh - 224) / 2), round((nw - 224) / 2)
    img = img[top:top + 224, left:left + 224, ::-1]
    x = (img.astype(np.float32) / 255.0 - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1))


for _ in range(50):
    prepare()
n, start = 0, time.perf_counter()
while time.perf_counter() - start < seconds:
    prepare()
    n += 1
full = n / (time.perf_counter() - start)
n, start = 0, time.perf_counter()
while time.perf_counter() - start < seconds / 2:
    cv2.imdecode(data, cv2.IMREAD_COLOR)
    n += 1
print(f"opencv decode+resize+crop+normalise: {full:.1f} images/s (1 thread, OpenCV {cv2.__version__})")
print(f"opencv decode only: {n / (time.perf_counter() - start):.1f} images/s (1 thread)")
