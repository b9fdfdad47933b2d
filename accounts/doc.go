// Package accounts will hold the accounts service of SPEC §6–§7:
// organizations, users, emails, API clients, roles, memberships and the
// multi-step login that mints tokens. It is not built yet (issues 5 and
// 6); this file only reserves the package in the project's layout.
package accounts
