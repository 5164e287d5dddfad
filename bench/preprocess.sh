#!/usr/bin/env bash
# Preprocessing throughput per core: JPEG -> shorter side 256 -> centre crop 224 -> normalised
# FP32 NCHW, the services' Java code beside OpenCV-Python doing the same steps, in one run, on a
# 640x480 photo and a 12-megapixel one (4000x3000). Both run pinned to one core (taskset, when
# present). The OpenCV side needs Debian's python3-opencv (apt-get install python3-opencv); it is
# skipped, saying so, without it.
# Video: the service's decoder (FFmpeg's API through JavaCPP) beside the ffmpeg command line (Debian ffmpeg), both one thread.
#   bench/preprocess.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mvn -B -q -pl libs/media -am install -DskipTests
one_core=()
if command -v taskset > /dev/null; then one_core=(taskset -c 0); fi
# Photo-like JPEGs made from the sample scene (bicubic resize plus noise), with the JDK's own encoder.
cat > "$work/Make.java" <<'JAVA'
import java.awt.*; import java.awt.image.*; import javax.imageio.*; import java.io.*;
public class Make { public static void main(String[] a) throws Exception {
  BufferedImage src = ImageIO.read(new File(a[0]));
  int w = Integer.parseInt(a[2]), h = Integer.parseInt(a[3]);
  BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
  Graphics2D g = out.createGraphics();
  g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
  g.drawImage(src, 0, 0, w, h, null); g.dispose();
  java.util.Random r = new java.util.Random(1);
  for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
    int p = out.getRGB(x, y), n = r.nextInt(24) - 12;
    int R = Math.max(0, Math.min(255, ((p >> 16) & 255) + n)), G = Math.max(0, Math.min(255, ((p >> 8) & 255) + n)),
        B = Math.max(0, Math.min(255, (p & 255) + n));
    out.setRGB(x, y, (R << 16) | (G << 8) | B);
  }
  ImageIO.write(out, "jpg", new File(a[1])); } }
JAVA
classpath=$(mvn -B -q -pl libs/media dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=/dev/stdout)
classpath="$classpath:services/common/target/classes:services/common/target/test-classes"
for size in 640x480 4000x3000; do
  java "$work/Make.java" samples/large-scene-637x411.png "$work/photo-$size.jpg" "${size%x*}" "${size#*x}"
  echo "== $size JPEG, Java (libs/media: ImageDecoder + TensorPreparer), one core"
  java_out=$("${one_core[@]}" java -cp "$classpath" io.streamvision.imaging.bench.PreprocessBenchmark \
    "$work/photo-$size.jpg" "$seconds" 2>&1 | grep -v WARNING)
  echo "$java_out"
  echo "== $size JPEG, OpenCV-Python reference, one core"
  if /usr/bin/python3 -c "import cv2" 2> /dev/null; then
    cv_out=$("${one_core[@]}" /usr/bin/python3 bench/opencv_reference.py "$work/photo-$size.jpg" "$seconds")
    echo "$cv_out"
    java_rate=$(echo "$java_out" | sed -n 's/^java decode+resize+crop+normalise: \([0-9.]*\).*/\1/p')
    cv_rate=$(echo "$cv_out" | sed -n 's/^opencv decode+resize+crop+normalise: \([0-9.]*\).*/\1/p')
    awk -v j="$java_rate" -v c="$cv_rate" -v s="$size" \
      'BEGIN { printf "%s: services / OpenCV = %.2fx (whole step, one core each)\n", s, j / c }'
  else
    echo "skipped: python3-opencv is not installed (apt-get install python3-opencv)"
  fi
done

echo "== Video: the sample MP4 (H.264 320x240, 500 frames), every frame decoded"
mvn -B -q -pl libs/media exec:java -Dexec.classpathScope=test \
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
