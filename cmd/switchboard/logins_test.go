package main

import (
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestRun_LoginFlags checks that serve --help documents the failed-login
// throttle and the bound on password checks with their environment
// variables, and that bad values, from flags or the environment, stop serve
// before it starts, each named.
func TestRun_LoginFlags(t *testing.T) {
	out, _, err := cli{}.run(t, "", "serve", "--help")
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{
		"-login-failures-per-ip", "SWITCHBOARD_LOGIN_FAILURES_PER_IP", "-login-failures-ip-window", "SWITCHBOARD_LOGIN_FAILURES_IP_WINDOW",
		"-login-failures-per-login", "SWITCHBOARD_LOGIN_FAILURES_PER_LOGIN", "-login-failures-login-window", "SWITCHBOARD_LOGIN_FAILURES_LOGIN_WINDOW",
		"-password-checks", "SWITCHBOARD_PASSWORD_CHECKS", "-password-check-wait", "SWITCHBOARD_PASSWORD_CHECK_WAIT",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help does not mention %s", want)
		}
	}

	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"negative limits", nil, []string{"--login-failures-per-ip", "-1", "--login-failures-per-login", "-2", "--password-checks", "-3"},
			[]string{"--login-failures-per-ip -1", "--login-failures-per-login -2", "--password-checks -3"}},
		{"empty windows", nil, []string{"--login-failures-ip-window", "0s", "--login-failures-login-window", "-1m", "--password-check-wait", "0"},
			[]string{"--login-failures-ip-window 0s", "--login-failures-login-window -1m0s", "--password-check-wait 0s"}},
		{"from the environment", map[string]string{"SWITCHBOARD_LOGIN_FAILURES_PER_IP": "-5", "SWITCHBOARD_PASSWORD_CHECK_WAIT": "-1s"}, nil,
			[]string{"--login-failures-per-ip -5", "--password-check-wait -1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := cli{env: tt.env}.run(t, "", append([]string{"serve"}, tt.args...)...)
			if err == nil {
				t.Fatal("serve started with a bad configuration")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not name %q: %v", want, err)
				}
			}
		})
	}
}
