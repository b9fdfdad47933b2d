package accounts

func (s *Service) openAPI(r *request) error { return errNotBuilt }
