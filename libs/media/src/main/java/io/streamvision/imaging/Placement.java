package io.streamvision.imaging;

import io.streamvision.proto.inference.InferParameter;
import io.streamvision.proto.inference.ModelInferRequest;
import java.util.Map;

/**
 * Where an image lands in a model's input after the resize policy: the source image (as sent,
 * after its EXIF orientation) of {@code sourceWidth} x {@code sourceHeight} pixels is scaled to
 * {@code width} x {@code height} and its top-left corner put at ({@code left}, {@code top}) of the
 * model input. Letterboxing gives non-negative offsets (the padding); a centre crop negative ones
 * (the part cut away); a stretch (0, 0) and the input size. A point of the model input maps back to
 * the source with {@link #sourceX} and {@link #sourceY}, so a detector's boxes can be given in the
 * pixels of the image the caller sent.
 *
 * <p>It travels with every tensor request as the request parameters named by the constants here,
 * from preprocess (or the image RPCs) to the scoring service. Immutable.
 */
public record Placement(int sourceWidth, int sourceHeight, int left, int top, int width, int height) {

    /** Request parameter: width of the image as sent, in pixels. */
    public static final String SOURCE_WIDTH = "image_width";

    /** Request parameter: height of the image as sent, in pixels. */
    public static final String SOURCE_HEIGHT = "image_height";

    /** Request parameter: x of the scaled image's left edge in the model input. */
    public static final String LEFT = "placed_left";

    /** Request parameter: y of the scaled image's top edge in the model input. */
    public static final String TOP = "placed_top";

    /** Request parameter: width of the scaled image in the model input. */
    public static final String WIDTH = "placed_width";

    /** Request parameter: height of the scaled image in the model input. */
    public static final String HEIGHT = "placed_height";

    /** The x in source pixels of a model-input x. */
    public float sourceX(float x) {
        return (float) ((x - left) * (double) sourceWidth / width);
    }

    /** The y in source pixels of a model-input y. */
    public float sourceY(float y) {
        return (float) ((y - top) * (double) sourceHeight / height);
    }

    /** Writes this placement into a request's parameters. */
    public void putInto(ModelInferRequest.Builder request) {
        put(request, SOURCE_WIDTH, sourceWidth);
        put(request, SOURCE_HEIGHT, sourceHeight);
        put(request, LEFT, left);
        put(request, TOP, top);
        put(request, WIDTH, width);
        put(request, HEIGHT, height);
    }

    /**
     * The placement a request carries, or null when it carries none (an OIP request from another
     * producer) or an unusable one.
     */
    public static Placement of(Map<String, InferParameter> parameters) {
        if (!parameters.containsKey(SOURCE_WIDTH) || !parameters.containsKey(WIDTH)) {
            return null;
        }
        Placement p = new Placement(
                get(parameters, SOURCE_WIDTH),
                get(parameters, SOURCE_HEIGHT),
                get(parameters, LEFT),
                get(parameters, TOP),
                get(parameters, WIDTH),
                get(parameters, HEIGHT));
        return p.sourceWidth > 0 && p.sourceHeight > 0 && p.width > 0 && p.height > 0 ? p : null;
    }

    private static void put(ModelInferRequest.Builder request, String name, int value) {
        request.putParameters(
                name, InferParameter.newBuilder().setInt64Param(value).build());
    }

    private static int get(Map<String, InferParameter> parameters, String name) {
        InferParameter p = parameters.get(name);
        return p == null ? 0 : (int) p.getInt64Param();
    }
}
