// Command oidcop runs the test OpenID provider (internal/oidctest) as a
// process, for the console's browser tests: it prints "issuer URL" and
// "client_secret SECRET" lines on stdout and serves until killed.
//
//	oidcop -redirect http://127.0.0.1:8080/api/session/oidc/callback -post-logout http://127.0.0.1:8080/ -user alice=weft-admins
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/weftio/weft/internal/oidctest"
)

type users []oidctest.User

func (u *users) String() string { return "" }

// Set takes NAME=GROUP[,GROUP...].
func (u *users) Set(v string) error {
	name, groups, _ := strings.Cut(v, "=")
	if name == "" {
		return fmt.Errorf("use NAME=GROUP[,GROUP...]")
	}
	var gs []string
	if groups != "" {
		gs = strings.Split(groups, ",")
	}
	*u = append(*u, oidctest.User{Subject: "sub-" + name, Username: name, Email: name + "@example.com", Groups: gs})
	return nil
}

func main() {
	var o oidctest.Options
	var us users
	redirect := flag.String("redirect", "", "the client's redirect URI")
	postLogout := flag.String("post-logout", "", "the client's post-logout redirect URI")
	flag.Var(&us, "user", "a user: NAME=GROUP[,GROUP...] (repeatable)")
	flag.Parse()
	o.RedirectURIs, o.Users = []string{*redirect}, us
	if *postLogout != "" {
		o.PostLogoutURIs = []string{*postLogout}
	}
	p, err := oidctest.New(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer p.Close()
	fmt.Printf("issuer %s\nclient_id %s\nclient_secret %s\n", p.Issuer, p.ClientID, p.ClientSecret)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
