#pragma once
// ApiError: a JetStream API error as the clients see it ({"code","err_code","description"}),
// built from one table keyed by err_code with nats-server's exact texts. A value type.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace tern::core::js {

struct ApiError {
  int code = 0;      // HTTP-like: 400, 404, 500, 503
  int err_code = 0;  // JetStream's own code, e.g. 10059
  std::string description;

  bool ok() const { return err_code == 0; }
  nlohmann::json ToJson() const {
    return {{"code", code}, {"err_code", err_code}, {"description", description}};
  }
};

// The error for err_code; `detail` fills the text's placeholder ({err}, {seq}, {id}).
ApiError MakeError(int err_code, std::string_view detail = {});

// The error codes this server produces, named.
namespace err {
inline constexpr int kAccountResourcesExceeded = 10002;
inline constexpr int kBadRequest = 10003;
inline constexpr int kConsumerCreate = 10012;
inline constexpr int kConsumerNameExists = 10013;
inline constexpr int kConsumerNotFound = 10014;
inline constexpr int kSnapshotDeliverSubjectInvalid = 10015;
inline constexpr int kConsumerDurableMismatch = 10017;
inline constexpr int kConsumerDurableNotSet = 10018;
inline constexpr int kConsumerEphemeralWithDurable = 10020;
inline constexpr int kExternalApiOverlap = 10021;
inline constexpr int kExternalDeliverWildcards = 10024;
inline constexpr int kInvalidJson = 10025;
inline constexpr int kMirrorMaxMessageSize = 10030;
inline constexpr int kMirrorWithSources = 10031;
inline constexpr int kMirrorWithSubjects = 10034;
inline constexpr int kSourceMaxMessageSize = 10046;
inline constexpr int kMirrorConfigUpdate = 10055;
inline constexpr int kMaxConsumers = 10026;
inline constexpr int kMaxStreams = 10027;
inline constexpr int kNotEnabledForAccount = 10039;
inline constexpr int kNoMessageFound = 10037;
inline constexpr int kSequenceNotFound = 10043;
inline constexpr int kStreamInvalidConfig = 10052;
inline constexpr int kMessageTooBig = 10054;
inline constexpr int kStreamMsgDeleteFailed = 10057;
inline constexpr int kStreamNameMismatch = 10056;
inline constexpr int kStreamNameExists = 10058;
inline constexpr int kStreamNotFound = 10059;
inline constexpr int kStreamRestore = 10062;
inline constexpr int kStreamSnapshot = 10064;
inline constexpr int kExpectedStreamMismatch = 10060;
inline constexpr int kSubjectOverlap = 10065;
inline constexpr int kStreamUpdate = 10069;
inline constexpr int kWrongLastMsgId = 10070;
inline constexpr int kWrongLastSequence = 10071;
inline constexpr int kReplicasNotSupported = 10074;
inline constexpr int kStoreFailed = 10077;
inline constexpr int kConsumerDeliverWildcards = 10079;
inline constexpr int kConsumerPushMaxWaiting = 10080;
inline constexpr int kConsumerDeliverCycle = 10081;
inline constexpr int kConsumerMaxPendingAckPolicy = 10082;
inline constexpr int kConsumerPullRequiresAck = 10084;
inline constexpr int kConsumerPullWithRateLimit = 10086;
inline constexpr int kConsumerHeartbeatRequiresPush = 10088;
inline constexpr int kConsumerFlowControlRequiresPush = 10089;
inline constexpr int kConsumerDirectRequiresPush = 10090;
inline constexpr int kConsumerDirectRequiresEphemeral = 10091;
inline constexpr int kConsumerFilterNotSubset = 10093;
inline constexpr int kConsumerInvalidPolicy = 10094;
inline constexpr int kConsumerInvalidSampling = 10095;
inline constexpr int kHeaderTooBig = 10097;
inline constexpr int kWorkQueueExplicitAck = 10098;
inline constexpr int kWorkQueueMultipleUnfiltered = 10099;
inline constexpr int kWorkQueueNotUnique = 10100;
inline constexpr int kWorkQueueDeliverAll = 10101;
inline constexpr int kConsumerDescriptionTooLong = 10107;
inline constexpr int kConsumerFlowControlNeedsHeartbeat = 10108;
inline constexpr int kStreamSealed = 10109;
inline constexpr int kStreamPurgeFailed = 10110;
inline constexpr int kRollupFailed = 10111;
inline constexpr int kConsumerMaxRequestBatchNegative = 10114;
inline constexpr int kConsumerMaxRequestExpiresTooSmall = 10115;
inline constexpr int kConsumerMaxDeliverBackoff = 10116;
inline constexpr int kStreamRestoreNameInUse = 10130;
inline constexpr int kConsumerFilterMismatch = 10131;
inline constexpr int kConsumerMetadataTooLong = 10135;
inline constexpr int kConsumerDuplicateFilterSubjects = 10136;
inline constexpr int kConsumerMultipleFiltersNotAllowed = 10137;
inline constexpr int kConsumerOverlappingFilters = 10138;
inline constexpr int kConsumerEmptyFilter = 10139;
inline constexpr int kMirrorWithFirstSeq = 10143;
inline constexpr int kSourceMultipleFilters = 10144;
inline constexpr int kSourceInvalidFilter = 10145;
inline constexpr int kSourceInvalidTransform = 10146;
inline constexpr int kSourceOverlappingFilters = 10147;
inline constexpr int kMirrorMultipleFilters = 10150;
inline constexpr int kMirrorInvalidFilter = 10151;
inline constexpr int kMirrorOverlappingFilters = 10152;
inline constexpr int kMirrorInvalidTransform = 10154;
inline constexpr int kStreamTransformInvalidSource = 10155;
inline constexpr int kStreamTransformInvalidDestination = 10156;
inline constexpr int kConsumerAlreadyExists = 10148;
inline constexpr int kConsumerDoesNotExist = 10149;
}  // namespace err

}  // namespace tern::core::js
