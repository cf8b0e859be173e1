package host

// secret looks up a stored secret by name (for verify/* blocks and
// {{secrets.NAME}}).
func (s *Server) secret(name string) (string, bool, error) {
	return "", false, nil
}
