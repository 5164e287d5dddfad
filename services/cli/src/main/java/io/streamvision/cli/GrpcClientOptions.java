package io.streamvision.cli;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.TlsChannelCredentials;
import io.streamvision.security.BearerCredentials;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * TLS and token settings of the gRPC commands: the server's CA (or the system's), a client
 * certificate for services that require one, and a bearer token or token file.
 */
public class GrpcClientOptions {

    @Option(names = "--tls", defaultValue = "${VISION_TLS:-false}")
    boolean tls;

    @Option(names = "--ca-cert", paramLabel = "PEM", defaultValue = "${VISION_TLS_CA:-}")
    String caCert;

    @Option(names = "--cert", paramLabel = "PEM", defaultValue = "${VISION_TLS_CERT:-}")
    String cert;

    @Option(names = "--key", paramLabel = "PEM", defaultValue = "${VISION_TLS_KEY:-}")
    String key;

    @Option(names = "--token", defaultValue = "${VISION_TOKEN:-}")
    String token;

    @Option(names = "--token-file", paramLabel = "FILE", defaultValue = "${VISION_TOKEN_FILE:-}")
    String tokenFile;

    /** A file option; an empty value (an unset environment default) is none. */
    private static Path file(String value) {
        return value == null || value.isBlank() ? null : Path.of(value);
    }

    /** A channel to {@code target} with these settings. */
    ManagedChannel channel(String target, int maxInboundBytes) {
        ManagedChannelBuilder<?> builder =
                Grpc.newChannelBuilder(target, credentials()).maxInboundMessageSize(maxInboundBytes);
        if (token != null && !token.isBlank()) {
            builder.intercept(BearerCredentials.of(token));
        } else if (file(tokenFile) != null) {
            builder.intercept(BearerCredentials.fromFile(file(tokenFile)));
        }
        return builder.build();
    }

    private ChannelCredentials credentials() {
        Path ca = file(caCert);
        Path certificate = file(cert);
        Path privateKey = file(key);
        if (!tls && ca == null && certificate == null) {
            return InsecureChannelCredentials.create();
        }
        if ((certificate == null) != (privateKey == null)) {
            throw new CliException(ExitCodes.BAD_INPUT, "--cert and --key go together");
        }
        try {
            TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder();
            if (ca != null) {
                b.trustManager(ca.toFile());
            }
            if (certificate != null) {
                b.keyManager(certificate.toFile(), privateKey.toFile());
            }
            return b.build();
        } catch (IOException | RuntimeException e) {
            throw new CliException(ExitCodes.BAD_INPUT, "cannot read the TLS files: " + e.getMessage());
        }
    }
}
