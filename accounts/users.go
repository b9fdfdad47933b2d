package accounts

func (s *Service) listUsers(r *request) error { return errNotBuilt }

func (s *Service) createUser(r *request) error { return errNotBuilt }

func (s *Service) getUser(r *request) error { return errNotBuilt }

func (s *Service) updateUser(r *request) error { return errNotBuilt }

func (s *Service) deleteUser(r *request) error { return errNotBuilt }

func (s *Service) listUserRoles(r *request) error { return errNotBuilt }

func (s *Service) addUserRole(r *request) error { return errNotBuilt }

func (s *Service) removeUserRole(r *request) error { return errNotBuilt }

func (s *Service) changePassword(r *request) error { return errNotBuilt }
