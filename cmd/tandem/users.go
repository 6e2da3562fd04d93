package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"tandem"
)

// createUser adds a person who signs in to the web app: the first admin of a new
// install, or anyone after. Without --password it makes one up and prints it.
func createUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("users create", stderr)
	var sf storeFlags
	sf.register(fs)
	email := fs.String("email", "", "the user's email address, which they sign in with")
	name := fs.String("name", "", "the user's name")
	team := fs.String("team", "", "marketing or sales")
	role := fs.String("role", "member", "member, manager or admin")
	password := fs.String("password", "", "the password (at least 10 characters); prefer TANDEM_PASSWORD, as flags show in ps; made up and printed when empty")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *email == "" || *name == "" || *team == "" {
		fs.Usage()
		return errors.New("--email, --name and --team are required")
	}
	db, err := openStore(ctx, sf, nil, false)
	if err != nil {
		return err
	}
	defer db.Close()
	pw, madeUp := *password, false
	if pw == "" {
		pw, madeUp = strings.ToLower(rand.Text()[:16]), true
	}
	u, err := db.CreateUser(ctx, &tandem.User{Email: *email, Name: *name, Team: tandem.Team(*team), Role: tandem.UserRole(*role)})
	if err != nil {
		return err
	}
	if err := db.SetPassword(ctx, u.ID, pw); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s (%s, %s) as user %d\n", u.Email, u.Team, u.Role, u.ID)
	if madeUp {
		fmt.Fprintf(stdout, "password: %s\n", pw)
	}
	return nil
}
