package accounts

func (s *Service) listClients(r *request) error { return errNotBuilt }

func (s *Service) createClient(r *request) error { return errNotBuilt }

func (s *Service) getClient(r *request) error { return errNotBuilt }

func (s *Service) updateClient(r *request) error { return errNotBuilt }

func (s *Service) deleteClient(r *request) error { return errNotBuilt }

func (s *Service) refreshClientSecret(r *request) error { return errNotBuilt }

func (s *Service) listClientRoles(r *request) error { return errNotBuilt }

func (s *Service) addClientRole(r *request) error { return errNotBuilt }

func (s *Service) removeClientRole(r *request) error { return errNotBuilt }

func (s *Service) listRestrictions(r *request) error { return errNotBuilt }

func (s *Service) addRestriction(r *request) error { return errNotBuilt }

func (s *Service) deleteRestriction(r *request) error { return errNotBuilt }
