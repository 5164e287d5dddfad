package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.streamvision.proto.inference.GRPCInferenceServiceGrpc;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.inference.ServerMetadataRequest;
import io.streamvision.testing.TestPki;
import io.streamvision.testing.TestTokens;
import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The scoring service with TLS, client certificates and tokens on, through real sockets: gRPC
 * (OIP) and HTTPS (REST) handshakes with the right and the wrong CA and with and without a client
 * certificate, and each kind of token (valid JWT, API key, expired, wrong signature, wrong issuer,
 * wrong group, missing) with the status and message the README documents.
 */
@QuarkusTest
@TestProfile(SecureEndpointsIT.Secured.class)
class SecureEndpointsIT {

    static final Path DIR = tempDir();
    static final TestPki PKI = TestPki.create(DIR.resolve("pki"));
    static final TestTokens ISSUER = TestTokens.issuer("https://issuer.test");
    static final TestTokens FORGER = TestTokens.issuer("https://issuer.test");
    static final TestTokens OTHER_ISSUER = ISSUER.withIssuer("https://elsewhere.test");
    static final String API_KEY = "sv-test-key-0123456789";

    /** TLS with required client certificates on both ports, and tokens from a public key or a key file. */
    public static class Secured implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Path publicKey = ISSUER.writePublicKey(DIR.resolve("jwt.pem"));
                Path keys = Files.writeString(
                        DIR.resolve("api-keys"),
                        "# name sha256 groups\nbatch-job " + sha256(API_KEY) + " inference,metadata\n");
                Map<String, String> config = new HashMap<>(PKI.mutualTlsServer("scoring"));
                config.putAll(Map.of(
                        "quarkus.http.test-ssl-port", "0",
                        "vision.scoring.auth.enabled", "true",
                        "vision.scoring.auth.jwt-public-key", publicKey.toString(),
                        "vision.scoring.auth.issuer", "https://issuer.test",
                        "vision.scoring.auth.api-keys", keys.toString(),
                        "vision.scoring.models", "lenet",
                        "vision.scoring.kafka.enabled", "false"));
                return config;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @TestHTTPResource(value = "/", tls = true)
    URL https;

    @TestHTTPResource(value = "/", management = true)
    URL management;

    private ManagedChannel channel;

    @AfterEach
    void close() {
        if (channel != null) {
            channel.shutdownNow();
        }
    }

    // ---- TLS and mTLS ----

    @Test
    void grpcHandshakeNeedsTheRightCaAndAClientCertificate() throws Exception {
        assertEquals(
                "streamvision-scoring",
                grpc(PKI.ca, PKI.client, ISSUER.token("alice", "metadata"))
                        .serverMetadata(ServerMetadataRequest.getDefaultInstance())
                        .getName());
        for (TestPki.Identity[] wrong : new TestPki.Identity[][] {
            {PKI.otherCa, PKI.client}, // the client does not trust the server's CA
            {PKI.ca, null}, // no client certificate
            {PKI.ca, PKI.otherClient} // a client certificate of another CA
        }) {
            StatusRuntimeException e = assertThrows(
                    StatusRuntimeException.class,
                    () -> grpc(wrong[0], wrong[1], ISSUER.token("alice", "metadata"))
                            .serverMetadata(ServerMetadataRequest.getDefaultInstance()));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
            close();
        }
    }

    @Test
    void httpsHandshakeNeedsTheRightCaAndAClientCertificate() throws Exception {
        assertEquals(
                200,
                get(PKI.sslContext(PKI.ca, PKI.client), "v2/models/lenet", ISSUER.token("a", "metadata"))
                        .statusCode());
        // The client does not trust the server's CA: no handshake.
        assertThrows(
                Exception.class,
                () -> get(PKI.sslContext(PKI.otherCa, PKI.client), "v2/models/lenet", ISSUER.token("a", "metadata")));
        // A certificate of another CA is not taken as a client certificate: refused, never served.
        try {
            HttpResponse<String> stranger =
                    get(PKI.sslContext(PKI.ca, PKI.otherClient), "v2/models/lenet", ISSUER.token("a", "metadata"));
            assertEquals(401, stranger.statusCode(), stranger.body());
        } catch (IOException handshakeRefused) {
            // equally good
        }
        // No client certificate at all: refused, whatever the token.
        HttpResponse<String> anonymous =
                get(PKI.sslContext(PKI.ca, null), "v2/models/lenet", ISSUER.token("a", "metadata"));
        assertEquals(401, anonymous.statusCode());
        assertTrue(anonymous.body().contains("needs a TLS client certificate"), anonymous.body());
    }

    // ---- tokens over gRPC ----

    @Test
    void grpcTokensGetTheirDocumentedStatus() throws Exception {
        assertEquals(
                10,
                infer(ISSUER.token("alice", "inference"))
                                .getRawOutputContents(0)
                                .size()
                        / 4);
        assertEquals(10, infer(API_KEY).getRawOutputContents(0).size() / 4);

        assertDenied(Status.Code.UNAUTHENTICATED, "needs a token with group 'inference'", null);
        assertDenied(
                Status.Code.UNAUTHENTICATED,
                "expired",
                ISSUER.token("alice", List.of("inference"), Instant.now().minusSeconds(600)));
        assertDenied(Status.Code.UNAUTHENTICATED, "signature", FORGER.token("mallory", "inference"));
        assertDenied(Status.Code.UNAUTHENTICATED, "issuer", OTHER_ISSUER.token("alice", "inference"));
        assertDenied(Status.Code.UNAUTHENTICATED, "not a known API key", "sv-not-a-key");
        assertDenied(
                Status.Code.PERMISSION_DENIED,
                "ModelInfer needs group 'inference'; 'bob' has [metadata]",
                ISSUER.token("bob", "metadata"));
    }

    // ---- tokens over REST ----

    @Test
    void restTokensGetTheirDocumentedStatus() throws Exception {
        SSLContext tls = PKI.sslContext(PKI.ca, PKI.client);
        assertEquals(
                200,
                get(tls, "v2/models/lenet", ISSUER.token("alice", "metadata")).statusCode());
        assertEquals(200, get(tls, "v2/models/lenet", API_KEY).statusCode());

        HttpResponse<String> missing = get(tls, "v2/models/lenet", null);
        assertEquals(401, missing.statusCode());
        assertEquals(
                "Bearer realm=\"streamvision\"",
                missing.headers().firstValue("WWW-Authenticate").orElse(""));
        assertTrue(
                missing.body().contains("\"error\":") && missing.body().contains("group 'metadata'"), missing.body());

        HttpResponse<String> expired = get(
                tls,
                "v2/models/lenet",
                ISSUER.token("a", List.of("metadata"), Instant.now().minusSeconds(600)));
        assertEquals(401, expired.statusCode());
        assertTrue(expired.body().contains("expired"), expired.body());

        HttpResponse<String> forbidden = post(tls, "v2/models/lenet/infer", ISSUER.token("bob", "metadata"));
        assertEquals(403, forbidden.statusCode());
        assertTrue(forbidden.body().contains("needs group 'inference'"), forbidden.body());

        assertEquals(
                401,
                get(tls, "v2/models/lenet", FORGER.token("mallory", "metadata")).statusCode());
        // Health stays open to the kubelet on the management port: plain HTTP, no certificate, no token.
        assertEquals(
                200,
                HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(URI.create(
                                                "http://localhost:" + management.getPort() + "/q/health/live"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString())
                        .statusCode());
    }

    // ---- helpers ----

    private void assertDenied(Status.Code code, String message, String token) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> infer(token));
        assertEquals(code, e.getStatus().getCode(), e.toString());
        assertTrue(
                e.getStatus().getDescription().contains(message), e.getStatus().getDescription());
    }

    private ModelInferResponse infer(String token) throws Exception {
        ModelInferRequest.Builder r = ModelInferRequest.newBuilder().setModelName("lenet");
        r.addInputsBuilder().setName("image").setDatatype("FP32").addAllShape(List.of(1L, 1L, 28L, 28L));
        r.addRawInputContents(ByteString.copyFrom(new byte[28 * 28 * 4]));
        try {
            return grpc(PKI.ca, PKI.client, token).modelInfer(r.build());
        } finally {
            close();
        }
    }

    private GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub grpc(
            TestPki.Identity trusted, TestPki.Identity identity, String token) throws Exception {
        TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder()
                .trustManager(trusted.certFile().toFile());
        if (identity != null) {
            tls.keyManager(identity.certFile().toFile(), identity.keyFile().toFile());
        }
        ChannelCredentials credentials = tls.build();
        int port = ConfigProvider.getConfig().getValue("quarkus.grpc.server.test-port", Integer.class);
        channel =
                Grpc.newChannelBuilderForAddress("localhost", port, credentials).build();
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        if (token != null) {
            Metadata headers = new Metadata();
            headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
            stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
        }
        return stub;
    }

    private HttpResponse<String> get(SSLContext tls, String path, String token) throws Exception {
        return send(tls, request(path, token).GET());
    }

    private HttpResponse<String> post(SSLContext tls, String path, String token) throws Exception {
        return send(tls, request(path, token).POST(HttpRequest.BodyPublishers.ofString("{\"inputs\": []}")));
    }

    private HttpRequest.Builder request(String path, String token) {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(URI.create(https.toString().replace("127.0.0.1", "localhost") + path));
        return token == null ? b : b.header("Authorization", "Bearer " + token);
    }

    private static HttpResponse<String> send(SSLContext tls, HttpRequest.Builder request) throws Exception {
        return HttpClient.newBuilder()
                .sslContext(tls)
                .build()
                .send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String sha256(String key) throws Exception {
        return HexFormat.of()
                .formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("secure-endpoints-");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
