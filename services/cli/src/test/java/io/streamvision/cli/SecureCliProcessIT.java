package io.streamvision.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamvision.kafka.TopicProvisioner;
import io.streamvision.kafka.Topics;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TestPki;
import io.streamvision.testing.TestTokens;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The secured deployment end to end, as packaged: scoring and captioning require TLS client
 * certificates and tokens; captioning reaches scoring with its own client certificate and a token
 * from a file; the {@code vision} command reaches both with {@code --ca-cert}, {@code --cert},
 * {@code --key} and {@code --token-file}, and is refused without them.
 */
@ExtendWith(KafkaBrokerExtension.class)
class SecureCliProcessIT {

    private static final Path ROOT = TestModels.dir().getParent();

    @Test
    void theCommandAndCaptioningReachSecuredServicesWithCertificatesAndTokens() throws Exception {
        TestBroker broker = TestBrokers.shared();
        Path dir = Files.createTempDirectory("secure-cli-");
        TestPki pki = TestPki.create(dir.resolve("pki"));
        TestTokens issuer = TestTokens.issuer("https://issuer.test");
        Path publicKey = issuer.writePublicKey(dir.resolve("jwt.pem"));
        Path userToken = Files.writeString(dir.resolve("user.token"), issuer.token("alice", "inference"));
        Path serviceToken =
                Files.writeString(dir.resolve("captioning.token"), issuer.token("captioning", "inference", "metadata"));

        Topics topics = new Topics(".it-secure");
        TopicProvisioner.ensure(
                broker.bootstrapServers(),
                List.of(
                        topics.scores().name(),
                        topics.captions().name(),
                        topics.videoEvents().name()),
                1,
                (short) 1);
        Map<String, String> scoringConfig = secured(pki, "scoring", publicKey);
        scoringConfig.putAll(Map.of(
                "vision.scoring.models-dir", TestModels.dir().toString(),
                "vision.scoring.models", "fashion-cnn,caption-encoder",
                "vision.scoring.kafka.enabled", "false",
                "kafka.bootstrap.servers", broker.bootstrapServers(),
                "vision.kafka.topic-suffix", ".it-secure",
                "quarkus.management.port", "18152",
                "quarkus.grpc.server.port", "18151"));
        Map<String, String> captioningConfig = secured(pki, "captioning", publicKey);
        captioningConfig.putAll(Map.of(
                "kafka.bootstrap.servers", broker.bootstrapServers(),
                "vision.kafka.topic-suffix", ".it-secure",
                "vision.captioning.models-dir", TestModels.dir().toString(),
                "vision.captioning.kafka.enabled", "false",
                "quarkus.kafka-streams.application-id", "it-secure-results",
                "quarkus.management.port", "18153",
                "quarkus.grpc.server.port", "18154",
                "quarkus.grpc.clients.scoring.port", "18151"));
        captioningConfig.putAll(Map.of(
                "quarkus.grpc.clients.scoring.host", "localhost",
                "quarkus.grpc.clients.scoring.tls-configuration-name", "scoring",
                "quarkus.tls.scoring.trust-store.pem.certs", pki.ca.certFile().toString(),
                "quarkus.tls.scoring.key-store.pem.0.cert",
                        pki.client.certFile().toString(),
                "quarkus.tls.scoring.key-store.pem.0.key", pki.client.keyFile().toString(),
                "vision.captioning.scoring-token-file", serviceToken.toString()));

        // TLS towards scoring from the environment, as the Helm chart sets it.
        Map<String, String> captioningEnvironment = Map.of(
                "QUARKUS_GRPC_CLIENTS_SCORING_USE_QUARKUS_GRPC_CLIENT",
                "true",
                "QUARKUS_GRPC_CLIENTS_SCORING_PLAIN_TEXT",
                "false",
                "QUARKUS_GRPC_CLIENTS_SCORING_TLS_CONFIGURATION_NAME",
                "scoring",
                "QUARKUS_TLS_SCORING_TRUST_STORE_PEM_CERTS",
                pki.ca.certFile().toString(),
                "QUARKUS_TLS_SCORING_KEY_STORE_PEM_0_CERT",
                pki.client.certFile().toString(),
                "QUARKUS_TLS_SCORING_KEY_STORE_PEM_0_KEY",
                pki.client.keyFile().toString());
        Process scoring = ServiceProcess.start("../scoring", scoringConfig, Path.of("target/secure-scoring.log"));
        Process captioning = ServiceProcess.start(
                "../captioning", captioningConfig, captioningEnvironment, Path.of("target/secure-captioning.log"));
        try {
            ServiceProcess.awaitReady(18152, Duration.ofSeconds(120));
            ServiceProcess.awaitReady(18153, Duration.ofSeconds(120));
            JsonNode scene = new ObjectMapper()
                    .readTree(ROOT.resolve("models/caption-decoder/1/fixtures/greedy.json")
                            .toFile())
                    .get("fixtures")
                    .get(0);
            String image = scene.get("file").asText();
            List<String> tls = List.of(
                    "--ca-cert", pki.ca.certFile().toString(),
                    "--cert", pki.client.certFile().toString(),
                    "--key", pki.client.keyFile().toString());

            VisionCliProcessIT.Run classified =
                    vision("classify", "localhost:18151", tls, "--token-file", userToken.toString(), image);
            assertEquals(ExitCodes.OK, classified.exitCode(), classified.err());
            assertTrue(classified.out().contains("(fashion-cnn v"), classified.out());

            VisionCliProcessIT.Run noToken = vision("classify", "localhost:18151", tls, image);
            assertEquals(ExitCodes.SOME_FAILED, noToken.exitCode(), noToken.out());
            assertTrue(noToken.err().contains("UNAUTHENTICATED"), noToken.err());

            // Caption runs the encoder on scoring: captioning's own certificate and token.
            VisionCliProcessIT.Run captioned = vision(
                    "caption", "localhost:18154", tls, "--token-file", userToken.toString(), "--beam", "1", image);
            assertEquals(ExitCodes.OK, captioned.exitCode(), captioned.err());
            assertTrue(
                    captioned
                            .out()
                            .contains("\"" + scene.get("greedy").get("caption").asText() + "\""),
                    captioned.out());

            VisionCliProcessIT.Run noCertificate = vision(
                    "caption",
                    "localhost:18154",
                    List.of("--ca-cert", pki.ca.certFile().toString()),
                    "--token-file",
                    userToken.toString(),
                    "--deadline-ms",
                    "3000",
                    image);
            assertEquals(ExitCodes.UNREACHABLE, noCertificate.exitCode(), noCertificate.out());
            assertFalse(noCertificate.out().contains("\""), noCertificate.out());
        } finally {
            for (Process p : List.of(captioning, scoring)) {
                p.destroy();
                p.waitFor();
            }
        }
    }

    /** TLS with required client certificates and JWT checks, under the service's prefix. */
    private static Map<String, String> secured(TestPki pki, String service, Path publicKey) {
        Map<String, String> config = new HashMap<>(pki.mutualTlsServer(service));
        config.put("quarkus.http.ssl-port", "0");
        config.put("vision." + service + ".auth.enabled", "true");
        config.put("vision." + service + ".auth.jwt-public-key", publicKey.toString());
        return config;
    }

    private static VisionCliProcessIT.Run vision(String command, String server, List<String> tls, String... rest)
            throws Exception {
        List<String> args = new ArrayList<>(List.of(command, "--server", server));
        args.addAll(tls);
        args.addAll(List.of(rest));
        return VisionCliProcessIT.vision(args.toArray(String[]::new));
    }
}
