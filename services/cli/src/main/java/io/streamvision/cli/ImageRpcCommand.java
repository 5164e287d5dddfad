package io.streamvision.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Channel;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.AbstractStub;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Base of the commands that send each image to the services' gRPC API and print one line
 * (or one JSON object) per image, in argument order, with up to {@code --concurrency} calls in
 * flight.
 */
abstract class ImageRpcCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "IMAGE|DIR", description = "Image files, or directories of them.")
    List<Path> inputs;

    @Option(names = "--deadline-ms", defaultValue = "10000")
    long deadlineMs;

    @Option(
            names = {"-c", "--concurrency"},
            defaultValue = "4")
    int concurrency;

    @Option(names = "--json")
    boolean json;

    @Mixin
    GrpcClientOptions connection;

    @Mixin
    TopKOption topK;

    /** The {@code host:port} of the service. */
    abstract String server();

    /**
     * One call on {@code channel} (stubs get the deadline through {@link #deadline}); returns the
     * fields to print for the image.
     */
    abstract Map<String, Object> call(Channel channel, Path file, byte[] image);

    /** {@code stub} with this command's deadline for one call. */
    <S extends AbstractStub<S>> S deadline(S stub) {
        return stub.withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS);
    }

    /** The table line of one successful result. */
    abstract String line(Map<String, Object> fields);

    @Override
    public Integer call() throws Exception {
        List<Path> files = Inputs.expand(inputs, Inputs.IMAGE_EXTENSIONS, "image");
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ManagedChannel channel = connection.channel(server(), 64 << 20);
        awaitReady(channel);
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, concurrency));
        int failed = 0;
        int unreachable = 0;
        try {
            List<Future<Map<String, Object>>> calls = new ArrayList<>();
            for (Path file : files) {
                calls.add(pool.submit(() -> call(channel, file, Inputs.read(file))));
            }
            for (int i = 0; i < files.size(); i++) {
                Map<String, Object> fields = new LinkedHashMap<>();
                fields.put("file", files.get(i).toString());
                try {
                    fields.putAll(calls.get(i).get());
                    out.println(
                            json
                                    ? JSON.writeValueAsString(fields)
                                    : files.get(i).getFileName() + "  " + line(fields));
                } catch (ExecutionException e) {
                    failed++;
                    String reason = describe(e.getCause());
                    if (e.getCause() instanceof StatusRuntimeException s
                            && s.getStatus().getCode() == Status.Code.UNAVAILABLE) {
                        unreachable++;
                    }
                    fields.put("error", reason);
                    if (json) {
                        out.println(JSON.writeValueAsString(fields));
                    }
                    err.println(files.get(i) + ": " + reason);
                }
                out.flush();
            }
        } finally {
            pool.shutdownNow();
            channel.shutdownNow();
        }
        if (unreachable == files.size()) {
            err.println("cannot reach " + server() + " (is the service running? set the address with --server)");
            return ExitCodes.UNREACHABLE;
        }
        return failed == 0 ? ExitCodes.OK : ExitCodes.SOME_FAILED;
    }

    /**
     * Fails with {@link ExitCodes#UNREACHABLE} unless the channel connects within the deadline (at
     * most 10 s).
     */
    private void awaitReady(ManagedChannel channel) throws InterruptedException {
        long end = System.nanoTime() + Math.min(deadlineMs, 10_000) * 1_000_000L;
        while (channel.getState(true) != ConnectivityState.READY) {
            if (System.nanoTime() > end) {
                channel.shutdownNow();
                throw new CliException(
                        ExitCodes.UNREACHABLE,
                        "cannot reach " + server() + " (is the service running? set the address with --server)");
            }
            Thread.sleep(50);
        }
    }

    private static String describe(Throwable t) {
        if (t instanceof StatusRuntimeException s) {
            Status status = s.getStatus();
            return status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription());
        }
        return t instanceof CliException ? t.getMessage() : t.toString();
    }
}
