package reqlog

// RedactedPath exports redactedPath to the tests.
var RedactedPath = redactedPath

// NewEntry exports newEntry to the tests.
var NewEntry = newEntry
