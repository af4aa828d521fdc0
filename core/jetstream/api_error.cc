#include "core/jetstream/api_error.h"

namespace tern::core::js {
namespace {

struct Entry {
  int err_code;
  int code;
  const char* text;  // {} marks where the detail goes
};

// nats-server's texts (server/errors.json), as 2.9 clients expect them.
constexpr Entry kErrors[] = {
    {err::kAccountResourcesExceeded, 400, "resource limits exceeded for account"},
    {err::kBadRequest, 400, "bad request"},
    {err::kConsumerCreate, 500, "{}"},
    {err::kConsumerNameExists, 400, "consumer name already in use"},
    {err::kConsumerNotFound, 404, "consumer not found"},
    {err::kSnapshotDeliverSubjectInvalid, 400, "deliver subject not valid"},
    {err::kConsumerDurableMismatch, 400,
     "consumer name in subject does not match durable name in request"},
    {err::kConsumerDurableNotSet, 400,
     "consumer expected to be durable but a durable name was not set"},
    {err::kConsumerEphemeralWithDurable, 400,
     "consumer expected to be ephemeral but a durable name was set in request"},
    {err::kExternalApiOverlap, 400, "stream external api prefix {} must not overlap with $JS.API"},
    {err::kExternalDeliverWildcards, 400,
     "stream external delivery prefix {} must not contain wildcards"},
    {err::kInvalidJson, 400, "invalid JSON"},
    {err::kMirrorMaxMessageSize, 400, "stream mirror must have max message size >= source"},
    {err::kMirrorWithSources, 400, "stream mirrors can not also contain other sources"},
    {err::kMirrorWithSubjects, 400, "stream mirrors can not contain subjects"},
    {err::kSourceMaxMessageSize, 400, "stream source must have max message size >= target"},
    {err::kMirrorConfigUpdate, 400, "stream mirror configuration can not be updated"},
    {err::kMaxConsumers, 400, "maximum consumers limit reached"},
    {err::kMaxStreams, 400, "maximum number of streams reached"},
    {err::kNotEnabledForAccount, 503, "jetstream not enabled for account"},
    {err::kNoMessageFound, 404, "no message found"},
    {err::kSequenceNotFound, 400, "sequence {} not found"},
    {err::kStreamInvalidConfig, 500, "{}"},
    {err::kMessageTooBig, 400, "message size exceeds maximum allowed"},
    {err::kStreamMsgDeleteFailed, 500, "{}"},
    {err::kStreamNameMismatch, 400, "stream name in subject does not match request"},
    {err::kStreamNameExists, 400, "stream name already in use with a different configuration"},
    {err::kStreamNotFound, 404, "stream not found"},
    {err::kStreamRestore, 500, "restore failed: {}"},
    {err::kStreamSnapshot, 500, "snapshot failed: {}"},
    {err::kExpectedStreamMismatch, 400, "expected stream does not match"},
    {err::kSubjectOverlap, 400, "subjects overlap with an existing stream"},
    {err::kStreamUpdate, 500, "{}"},
    {err::kWrongLastMsgId, 400, "wrong last msg ID: {}"},
    {err::kWrongLastSequence, 400, "wrong last sequence: {}"},
    {err::kReplicasNotSupported, 500, "replicas > 1 not supported in non-clustered mode"},
    {err::kStoreFailed, 503, "{}"},
    {err::kConsumerDeliverWildcards, 400, "consumer deliver subject has wildcards"},
    {err::kConsumerPushMaxWaiting, 400, "consumer in push mode can not set max waiting"},
    {err::kConsumerDeliverCycle, 400, "consumer deliver subject forms a cycle"},
    {err::kConsumerMaxPendingAckPolicy, 400, "consumer requires ack policy for max ack pending"},
    {err::kConsumerPullRequiresAck, 400,
     "consumer in pull mode requires explicit ack policy on workqueue stream"},
    {err::kConsumerHeartbeatRequiresPush, 400,
     "consumer idle heartbeat requires a push based consumer"},
    {err::kConsumerInvalidSampling, 400, "failed to parse consumer sampling configuration: {}"},
    {err::kConsumerFlowControlRequiresPush, 400,
     "consumer flow control requires a push based consumer"},
    {err::kConsumerDirectRequiresPush, 400, "consumer direct requires a push based consumer"},
    {err::kConsumerDirectRequiresEphemeral, 400, "consumer direct requires an ephemeral consumer"},
    {err::kConsumerFilterNotSubset, 400,
     "consumer filter subject is not a valid subset of the interest subjects"},
    {err::kConsumerInvalidPolicy, 400, "{}"},
    {err::kHeaderTooBig, 400, "header size exceeds maximum allowed of 64k"},
    {err::kWorkQueueExplicitAck, 400, "workqueue stream requires explicit ack"},
    {err::kWorkQueueMultipleUnfiltered, 400,
     "multiple non-filtered consumers not allowed on workqueue stream"},
    {err::kWorkQueueNotUnique, 400, "filtered consumer not unique on workqueue stream"},
    {err::kWorkQueueDeliverAll, 400, "consumer must be deliver all on workqueue stream"},
    {err::kConsumerFlowControlNeedsHeartbeat, 400,
     "consumer with flow control also needs heartbeats"},
    {err::kStreamSealed, 400, "invalid operation on sealed stream"},
    {err::kConsumerDescriptionTooLong, 400,
     "consumer description is too long, maximum allowed is {}"},
    {err::kConsumerPullWithRateLimit, 400, "consumer in pull mode can not have rate limit set"},
    {err::kConsumerMaxRequestBatchNegative, 400, "consumer max request batch needs to be > 0"},
    {err::kConsumerMaxRequestExpiresTooSmall, 400,
     "consumer max request expires needs to be >= 1ms"},
    {err::kConsumerMaxDeliverBackoff, 400,
     "max deliver is required to be > length of backoff values"},
    {err::kStreamPurgeFailed, 500, "{}"},
    {err::kRollupFailed, 500, "{}"},
    {err::kStreamRestoreNameInUse, 400, "stream name already in use, cannot restore"},
    {err::kConsumerFilterMismatch, 400,
     "Consumer create request did not match filtered subject from create subject"},
    {err::kConsumerMetadataTooLong, 400, "consumer metadata exceeds maximum size of {}"},
    {err::kConsumerDuplicateFilterSubjects, 400,
     "consumer cannot have both FilterSubject and FilterSubjects specified"},
    {err::kConsumerMultipleFiltersNotAllowed, 400,
     "consumer with multiple subject filters cannot use subject based API"},
    {err::kConsumerOverlappingFilters, 400, "consumer subject filters cannot overlap"},
    {err::kConsumerEmptyFilter, 400, "consumer filter in FilterSubjects cannot be empty"},
    {err::kMirrorWithFirstSeq, 400, "stream mirrors can not have first sequence configured"},
    {err::kSourceMultipleFilters, 400,
     "source with multiple subject transforms cannot also have a single subject filter"},
    {err::kSourceInvalidFilter, 400, "source transform source: {}"},
    {err::kSourceInvalidTransform, 400, "source transform: {}"},
    {err::kSourceOverlappingFilters, 400, "source filters can not overlap"},
    {err::kMirrorMultipleFilters, 400,
     "mirror with multiple subject transforms cannot also have a single subject filter"},
    {err::kMirrorInvalidFilter, 400, "mirror transform source: {}"},
    {err::kMirrorOverlappingFilters, 400, "mirror subject filters can not overlap"},
    {err::kMirrorInvalidTransform, 400, "mirror transform: {}"},
    {err::kStreamTransformInvalidSource, 400, "stream transform source: {}"},
    {err::kStreamTransformInvalidDestination, 400, "stream transform: {}"},
    {err::kConsumerAlreadyExists, 400, "consumer already exists"},
    {err::kConsumerDoesNotExist, 400, "consumer does not exist"},
};

}  // namespace

ApiError MakeError(int err_code, std::string_view detail) {
  for (const Entry& e : kErrors) {
    if (e.err_code != err_code) continue;
    std::string text = e.text;
    const std::size_t at = text.find("{}");
    if (at != std::string::npos) text.replace(at, 2, detail);
    return ApiError{e.code, e.err_code, std::move(text)};
  }
  return ApiError{500, err_code, std::string(detail)};
}

}  // namespace tern::core::js
