package dev.gblm.deploy;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Typed models for the manifests without an official Java model: the subset of KEDA's {@code keda.sh/v1alpha1} API that deploy/k8s uses (KEDA publishes no Java model). Every
 * record rejects fields it does not declare, so a misspelt field fails {@link DeployManifestsTest}: add a field here
 * (with its name from the KEDA CRD) before using it in a manifest.
 */
final class MinimalModels {
    private MinimalModels() {}

    static final String KEDA = "keda.sh/v1alpha1";
    static final String KUSTOMIZE = "kustomize.config.k8s.io/v1beta1";

    /** Metadata keys of the {@code kafka} trigger (https://keda.sh/docs/latest/scalers/apache-kafka/). */
    static final Set<String> KAFKA_TRIGGER_KEYS = Set.of("bootstrapServers", "consumerGroup", "topic", "lagThreshold",
            "activationLagThreshold", "offsetResetPolicy", "allowIdleConsumers", "scaleToZeroOnInvalidOffset",
            "excludePersistentLag", "limitToPartitionsWithLag", "ensureEvenDistributionOfPartitions", "partitionLimitation",
            "sasl", "tls", "version", "unsafeSsl");

    @JsonIgnoreProperties(ignoreUnknown = false)
    record ScaledObject(String apiVersion, String kind, ObjectMeta metadata, ScaledObjectSpec spec) {}

    @JsonIgnoreProperties(ignoreUnknown = false)
    record ScaledObjectSpec(ScaleTargetRef scaleTargetRef, Integer pollingInterval, Integer cooldownPeriod,
            Integer idleReplicaCount, Integer minReplicaCount, Integer maxReplicaCount, List<Trigger> triggers) {}

    @JsonIgnoreProperties(ignoreUnknown = false)
    record ScaleTargetRef(String apiVersion, String kind, String name, String envSourceContainerName) {}

    @JsonIgnoreProperties(ignoreUnknown = false)
    record Trigger(String type, String name, Map<String, String> metadata, AuthenticationRef authenticationRef,
            Boolean useCachedMetrics, String metricType) {}

    @JsonIgnoreProperties(ignoreUnknown = false)
    record AuthenticationRef(String name, String kind) {}

    @JsonIgnoreProperties(ignoreUnknown = false)
    record TriggerAuthentication(String apiVersion, String kind, ObjectMeta metadata, TriggerAuthenticationSpec spec) {}

    @JsonIgnoreProperties(ignoreUnknown = false)
    record TriggerAuthenticationSpec(List<SecretTargetRef> secretTargetRef, List<EnvRef> env) {}

    @JsonIgnoreProperties(ignoreUnknown = false)
    record SecretTargetRef(String parameter, String name, String key) {}

    @JsonIgnoreProperties(ignoreUnknown = false)
    record EnvRef(String parameter, String name, String containerName) {}

    /** kustomize's {@code Kustomization} (kustomize.config.k8s.io/v1beta1), the fields deploy/k8s uses. */
    @JsonIgnoreProperties(ignoreUnknown = false)
    record Kustomization(String apiVersion, String kind, List<String> resources, List<Label> labels, List<Image> images,
            String namespace) {}

    @JsonIgnoreProperties(ignoreUnknown = false)
    record Label(Map<String, String> pairs, Boolean includeSelectors, Boolean includeTemplates) {}

    @JsonIgnoreProperties(ignoreUnknown = false)
    record Image(String name, String newName, String newTag, String digest) {}
}
