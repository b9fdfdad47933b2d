package accounts

func (s *Service) listSessions(r *request) error { return errNotBuilt }

func (s *Service) listUserSessions(r *request) error { return errNotBuilt }
