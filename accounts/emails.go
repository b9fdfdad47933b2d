package accounts

func (s *Service) listEmails(r *request) error { return errNotBuilt }

func (s *Service) addEmail(r *request) error { return errNotBuilt }

func (s *Service) deleteEmail(r *request) error { return errNotBuilt }

func (s *Service) generateVerification(r *request) error { return errNotBuilt }

func (s *Service) verifyEmail(r *request) error { return errNotBuilt }
