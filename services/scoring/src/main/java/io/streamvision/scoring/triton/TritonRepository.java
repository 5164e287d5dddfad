package io.streamvision.scoring.triton;

import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.RepositoryIndexResponse;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.ModelRegistry;
import java.util.List;
import java.util.Map;

/**
 * The model repository as Triton's {@code RepositoryIndexResponse}: every version of every model in
 * the repository folder, {@code READY} when it is the version served, {@code UNAVAILABLE} with the
 * reason otherwise (an older version, a model not among {@code vision.scoring.models}, or the load
 * failure). Stateless.
 */
public final class TritonRepository {

    private TritonRepository() {}

    public static RepositoryIndexResponse index(ModelRegistry registry, boolean readyOnly) {
        ModelRepository repository = registry.runtime().repository();
        Map<String, LoadedModel> serving = registry.serving();
        Map<String, String> failures = registry.failures();
        RepositoryIndexResponse.Builder out = RepositoryIndexResponse.newBuilder();
        for (String name : repository.modelNames()) {
            LoadedModel served = serving.get(name);
            List<Integer> versions = repository.versions(name);
            for (int version : versions) {
                RepositoryIndexResponse.ModelIndex.Builder entry = RepositoryIndexResponse.ModelIndex.newBuilder()
                        .setName(name)
                        .setVersion(Integer.toString(version));
                if (served != null && served.version() == version) {
                    entry.setState("READY");
                } else if (readyOnly) {
                    continue;
                } else {
                    entry.setState("UNAVAILABLE").setReason(reason(name, version, served, failures));
                }
                out.addModels(entry);
            }
        }
        return out.build();
    }

    private static String reason(String name, int version, LoadedModel served, Map<String, String> failures) {
        String failure = failures.get(name);
        if (failure != null && (served == null || version > served.version())) {
            return failure;
        }
        if (served != null) {
            return "version " + served.version() + " is served";
        }
        return "not served by this instance (vision.scoring.models)";
    }
}
