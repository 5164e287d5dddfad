#!/usr/bin/env bash
# Preprocessing throughput per core: JPEG 640x480 -> 224x224 normalised tensor, the services'
# Java code beside OpenCV-Python doing the same steps, in one run. The OpenCV side needs
# Debian's python3-opencv (apt-get install python3-opencv); it is skipped, saying so, without it.
# Video: the service's decoder (FFmpeg's API through JavaCPP) beside the ffmpeg command line (Debian ffmpeg), both one thread.
#   bench/preprocess.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mvn -B -q -pl services/common -am install -DskipTests
# A 640x480 photo-like JPEG made from the sample scene, with the JDK's own encoder.
cat > "$work/Make.java" <<'JAVA'
import java.awt.*; import java.awt.image.*; import javax.imageio.*; import java.io.*;
public class Make { public static void main(String[] a) throws Exception {
  BufferedImage src = ImageIO.read(new File(a[0]));
  BufferedImage out = new BufferedImage(640, 480, BufferedImage.TYPE_INT_RGB);
  Graphics2D g = out.createGraphics();
  g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
  g.drawImage(src, 0, 0, 640, 480, null); g.dispose();
  java.util.Random r = new java.util.Random(1);
  for (int y = 0; y < 480; y++) for (int x = 0; x < 640; x++) {
    int p = out.getRGB(x, y), n = r.nextInt(24) - 12;
    int R = Math.max(0, Math.min(255, ((p >> 16) & 255) + n)), G = Math.max(0, Math.min(255, ((p >> 8) & 255) + n)),
        B = Math.max(0, Math.min(255, (p & 255) + n));
    out.setRGB(x, y, (R << 16) | (G << 8) | B);
  }
  ImageIO.write(out, "jpg", new File(a[1])); } }
JAVA
java "$work/Make.java" samples/large-scene-637x411.png "$work/photo-640x480.jpg"
echo "== Java (services/common: ImageDecoder + TensorPreparer)"
mvn -B -q -pl services/common exec:java -Dexec.classpathScope=test \
  -Dexec.mainClass=io.streamvision.imaging.bench.PreprocessBenchmark -Dexec.args="$work/photo-640x480.jpg $seconds"
echo "== OpenCV-Python reference"
if /usr/bin/python3 -c "import cv2" 2> /dev/null; then
  /usr/bin/python3 bench/opencv_reference.py "$work/photo-640x480.jpg" "$seconds"
else
  echo "skipped: python3-opencv is not installed (apt-get install python3-opencv)"
fi

echo "== Video: the sample MP4 (H.264 320x240, 500 frames), every frame decoded"
mvn -B -q -pl services/common exec:java -Dexec.classpathScope=test \
  -Dexec.mainClass=io.streamvision.video.bench.VideoBenchmark -Dexec.args="$PWD/samples/video.mp4 $seconds"
if command -v ffmpeg > /dev/null; then
  runs=0; t0=$(date +%s%N)
  while (( ($(date +%s%N) - t0) / 1000000 < ${seconds%.*} * 1000 )); do
    ffmpeg -v error -threads 1 -i samples/video.mp4 -f null - ; runs=$((runs + 1))
  done
  elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "ffmpeg -threads 1 -i samples/video.mp4 -f null -: $(( runs * 500 * 1000 / elapsed_ms )) frames/s"
else
  echo "ffmpeg reference skipped: ffmpeg is not installed (apt-get install ffmpeg)"
fi
