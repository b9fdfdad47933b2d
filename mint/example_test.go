package mint_test

import (
	"crypto/rand"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/caveat"
	"github.com/authgw/authgw/policy"
)

// exampleNow is the examples' fixed clock.
var exampleNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// A Minter turns the policies that apply to a user into one token per
// method they grant.
func ExampleMinter_Mint() {
	p, err := policy.Parse("profile.json", []byte(`{"name": "profile", "appliesTo": {"userRoles": ["user"]}, "expires": 600,
  "scopes": [{"name": "own profile", "routes": ["/accounts/v1/users/:userId", "/accounts/v1/users/:userId/emails/*"],
    "methods": ["GET", "PATCH"]}]}`))
	if err != nil {
		log.Fatal(err)
	}
	ring, err := mint.GenerateKeyRing("k1", rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	m, err := mint.New(mint.Config{Keys: ring, ServerID: "example", Now: func() time.Time { return exampleNow }})
	if err != nil {
		log.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{p}, mint.Subject{UserID: "42", SessionID: "s1", Roles: []string{"user"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, method := range mint.Methods() {
		if _, ok := toks.ByMethod[method]; ok {
			fmt.Println(method, toks.Routes[method])
		}
	}
	fmt.Println("expires", toks.Expires.Format(mint.TimeFormat))

	// Every token starts with the same typed caveats.
	unsafeMac, err := mint.Decode(toks.ByMethod["GET"])
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range unsafeMac.Caveats() {
		parsed, err := caveat.Parse(string(c.Id))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-11s %s\n", parsed.Kind().Name(), parsed.Arg())
	}
	// Output:
	// GET [/accounts/v1/users/42 /accounts/v1/users/42/emails/*]
	// PATCH [/accounts/v1/users/42 /accounts/v1/users/42/emails/*]
	// expires 2026-11-22T12:10:00Z
	// server-id   example
	// method      GET
	// routes      /accounts/v1/users/42 /accounts/v1/users/42/emails/*
	// time-before 2026-11-22T12:10:00Z
	// user        42
	// user-roles  user
	// session     s1
}

// A holder narrows a token without any secret: every caveat must hold, so
// the new token allows only what the old one did and the new caveats do.
func ExampleAttenuate() {
	ring, err := mint.GenerateKeyRing("k1", rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	p, err := policy.Parse("notes.json", []byte(`{"name": "notes", "appliesTo": {"userRoles": ["user"]}, "expires": 900,
  "scopes": [{"name": "notes", "routes": ["/notes/v1/users/:userId/**"], "methods": ["GET"]}]}`))
	if err != nil {
		log.Fatal(err)
	}
	m, err := mint.New(mint.Config{Keys: ring, ServerID: "example", Now: func() time.Time { return exampleNow }})
	if err != nil {
		log.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{p}, mint.Subject{UserID: "42", SessionID: "s1"})
	if err != nil {
		log.Fatal(err)
	}

	// Only the drafts, for five minutes, from one network.
	routes, err := policy.ParseRoutes("/notes/v1/users/42/drafts/**")
	if err != nil {
		log.Fatal(err)
	}
	onlyDrafts, err := caveat.NewRoutes(routes)
	if err != nil {
		log.Fatal(err)
	}
	fromOffice, err := caveat.NewIP(netip.MustParsePrefix("192.0.2.0/24"))
	if err != nil {
		log.Fatal(err)
	}
	narrowed, err := mint.Attenuate(toks.ByMethod["GET"], onlyDrafts, caveat.NewTimeBefore(exampleNow.Add(5*time.Minute)), fromOffice)
	if err != nil {
		log.Fatal(err)
	}

	unsafeMac, err := mint.Decode(narrowed)
	if err != nil {
		log.Fatal(err)
	}
	cs := unsafeMac.Caveats()
	for _, c := range cs[len(cs)-3:] {
		fmt.Println(string(c.Id))
	}
	// Output:
	// routes /notes/v1/users/42/drafts/**
	// time-before 2026-11-22T12:05:00Z
	// ip 192.0.2.0/24
}
