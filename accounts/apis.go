package accounts

func (s *Service) listAPIs(r *request) error { return errNotBuilt }

func (s *Service) createAPI(r *request) error { return errNotBuilt }

func (s *Service) updateAPI(r *request) error { return errNotBuilt }

func (s *Service) deleteAPI(r *request) error { return errNotBuilt }
