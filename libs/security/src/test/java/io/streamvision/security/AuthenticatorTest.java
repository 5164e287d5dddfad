package io.streamvision.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.testing.TestTokens;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The token checks beyond the service test: JWKS files, key-file rotation, group claims, bad files. */
class AuthenticatorTest {

    @TempDir
    Path dir;

    record Config(
            boolean enabled,
            Optional<Path> jwtPublicKey,
            Optional<Path> jwks,
            Optional<String> issuer,
            Optional<String> audience,
            String groupsClaim,
            int clockSkewSeconds,
            Optional<Path> apiKeys)
            implements AuthConfig {}

    static Config config(boolean enabled, Optional<Path> jwks, Optional<Path> apiKeys) {
        return new Config(enabled, Optional.empty(), jwks, Optional.empty(), Optional.empty(), "groups", 0, apiKeys);
    }

    static Config jwks(Path jwks) {
        return config(true, Optional.of(jwks), Optional.empty());
    }

    static Config keys(Path keys) {
        return config(true, Optional.empty(), Optional.of(keys));
    }

    @Test
    void aJwksFileVerifiesItsKeysTokens() throws Exception {
        TestTokens tokens = TestTokens.issuer("https://issuer.test");
        Authenticator auth = Authenticator.of(jwks(tokens.writeJwks(dir.resolve("jwks.json"))));
        Caller alice = auth.authorize("Bearer " + tokens.token("alice", "inference", "admin"), Group.ADMIN, "x");
        assertEquals("'alice'", alice.name());
        assertEquals(Set.of("inference", "admin"), alice.groups());
        AccessDeniedException e = assertThrows(
                AccessDeniedException.class,
                () -> auth.authorize("Bearer " + TestTokens.issuer("x").token("eve", "admin"), Group.ADMIN, "x"));
        assertFalse(e.authenticated());
    }

    @Test
    void aRotatedKeyFileIsReadAgain() throws Exception {
        Path file = dir.resolve("keys");
        Files.writeString(file, "job " + sha256("old-key") + " inference\n");
        Authenticator auth = Authenticator.of(keys(file));
        assertEquals(
                "API key 'job'",
                auth.authorize("Bearer old-key", Group.INFERENCE, "x").name());

        Files.writeString(file, "job " + sha256("new-key") + " inference\n");
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
        Thread.sleep(2100);
        assertEquals(
                "API key 'job'",
                auth.authorize("Bearer new-key", Group.INFERENCE, "x").name());
        assertThrows(AccessDeniedException.class, () -> auth.authorize("Bearer old-key", Group.INFERENCE, "x"));
    }

    @Test
    void groupsMayBeASpaceSeparatedClaimAndAreCheckedPerEndpoint() throws Exception {
        Path file = dir.resolve("keys");
        Files.writeString(file, "# reader\nreader " + sha256("k") + " metadata\n");
        Authenticator auth = Authenticator.of(keys(file));
        AccessDeniedException e = assertThrows(
                AccessDeniedException.class,
                () -> auth.authorize("Bearer k", Group.INFERENCE, "POST /v2/models/m/infer"));
        assertTrue(e.authenticated());
        assertEquals(
                "POST /v2/models/m/infer needs group 'inference'; API key 'reader' has [metadata]", e.getMessage());
        assertThrows(AccessDeniedException.class, () -> auth.authorize("Basic dXNlcjpwdw==", Group.METADATA, "x"));
    }

    @Test
    void badSettingsFailAtStartWithTheReason() throws Exception {
        Path file = Files.writeString(dir.resolve("keys"), "only-two fields\n");
        IllegalStateException bad = assertThrows(IllegalStateException.class, () -> Authenticator.of(keys(file)));
        assertTrue(bad.getMessage().contains("line 1: expected"), bad.getMessage());
        Config none = config(true, Optional.empty(), Optional.empty());
        assertThrows(IllegalStateException.class, () -> Authenticator.of(none));
        assertFalse(Authenticator.of(config(false, Optional.empty(), Optional.empty()))
                .enabled());
    }

    @Test
    void endpointsNeedTheirGroups() {
        assertEquals(Optional.of(Group.INFERENCE), Permissions.forGrpc("inference.GRPCInferenceService/ModelInfer"));
        assertEquals(Optional.of(Group.METADATA), Permissions.forGrpc("inference.GRPCInferenceService/ModelMetadata"));
        assertEquals(
                Optional.of(Group.ADMIN), Permissions.forGrpc("inference.GRPCInferenceService/RepositoryModelLoad"));
        assertEquals(Optional.empty(), Permissions.forGrpc("grpc.health.v1.Health/Check"));
        for (String method : new String[] {
            "vision.v1.ScoringService/Classify",
            "vision.v1.CaptioningService/Caption",
            "vision.v1.CaptioningService/Describe",
            "vision.v1.CaptioningService/GetVideoSummary",
            "vision.v1.VisionService/Classify",
            "vision.v1.VisionService/GetVideoSummary"
        }) {
            assertEquals(Optional.of(Group.INFERENCE), Permissions.forGrpc(method), method);
        }
        assertEquals(Optional.of(Group.INFERENCE), Permissions.forHttp("POST", "/v2/models/m/versions/2/infer"));
        assertEquals(Optional.of(Group.METADATA), Permissions.forHttp("GET", "/v2/models/m/ready"));
        assertEquals(Optional.of(Group.INFERENCE), Permissions.forHttp("GET", "/videos/v1"));
        assertEquals(Optional.of(Group.INFERENCE), Permissions.forHttp("GET", "/"), "the web console");
        assertEquals(Optional.of(Group.INFERENCE), Permissions.forHttp("POST", "/console/upload"));
        assertEquals(Optional.of(Group.ADMIN), Permissions.forHttp("GET", "/consoles"));
        assertEquals(Optional.empty(), Permissions.forHttp("GET", "/q/health/ready"));
        assertEquals(Optional.of(Group.ADMIN), Permissions.forHttp("GET", "/q/dev-ui"));
        assertEquals(Optional.of(Group.METADATA), Permissions.forGrpc("inference.GRPCInferenceService/ModelConfig"));
        assertEquals(
                Optional.of(Group.METADATA), Permissions.forGrpc("inference.GRPCInferenceService/ModelStatistics"));
        assertEquals(
                Optional.of(Group.ADMIN), Permissions.forGrpc("inference.GRPCInferenceService/RepositoryModelUnload"));
        assertEquals(Optional.of(Group.METADATA), Permissions.forHttp("GET", "/v2/models/m/versions/1/config"));
        assertEquals(Optional.of(Group.METADATA), Permissions.forHttp("GET", "/v2/models/stats"));
        assertEquals(Optional.of(Group.METADATA), Permissions.forHttp("GET", "/v2/models/m/versions/1/stats"));
        assertEquals(Optional.of(Group.METADATA), Permissions.forHttp("POST", "/v2/repository/index"));
        assertEquals(Optional.of(Group.ADMIN), Permissions.forHttp("POST", "/v2/repository/models/m/load"));
    }

    static String sha256(String key) throws Exception {
        return HexFormat.of()
                .formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    }
}
