package broadcast

// Bounds of a message, for the tests that attack Decode.
const (
	MaxSubject = maxRevocationSubject
	MaxMessage = maxRevocationMessage
	MaxHold    = maxRevocationHold
)
