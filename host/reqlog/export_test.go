package reqlog

// RedactedPath exports redactedPath to the tests.
var RedactedPath = redactedPath
