// Validates the custom resources validate_core.py hands over (JSON lines
// of file and document index on stdin) with the validators generated from
// the operators' CRDs. A kind without a validator here is a failure.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ExternalSecret } from "@kubernetes-models/external-secrets/external-secrets.io/v1/ExternalSecret";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";
import { KafkaTopic } from "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2/KafkaTopic";

const models = new Map(
  [ExternalSecret, ScaledObject, TriggerAuthentication, KafkaTopic].map((Model) => {
    const probe = new Model({});
    return [`${probe.apiVersion} ${probe.kind}`, Model];
  }),
);

const input = readFileSync(0, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const cache = new Map();
let failures = 0;
for (const { file, index } of input) {
  if (!cache.has(file)) {
    cache.set(file, parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS()).filter((d) => d != null));
  }
  const doc = cache.get(file)[index];
  const what = `${file}#${index} ${doc.kind}/${doc.metadata?.name}`;
  const Model = models.get(`${doc.apiVersion} ${doc.kind}`);
  if (!Model) {
    console.error(`${what}: no validator for ${doc.apiVersion} ${doc.kind}`);
    failures++;
    continue;
  }
  try {
    new Model(doc).validate();
  } catch (error) {
    console.error(`${what}: ${error.message}`);
    failures++;
  }
}
console.error(`custom: ${input.length - failures} of ${input.length} resources valid against their CRDs`);
process.exit(failures ? 1 : 0);
