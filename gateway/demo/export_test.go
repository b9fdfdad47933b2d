package demo

// Bounds of the demo, for the tests that fill it.
const (
	MaxNotes    = maxDemoNotes
	MaxNoteBody = maxDemoNoteBody
)
