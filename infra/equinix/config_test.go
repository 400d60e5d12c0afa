package equinix

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const secret = "s3cr3t-metal-token-0123456789abcdef"

func TestTheDefaultsAreTheSeedsVariables(t *testing.T) {
	c := DefaultConfig()
	if c.Metro != "sv" || c.Plan != "c3.small.x86" || c.OS != "ubuntu_24_04" || c.Consul != 3 || c.FCS != 1 || c.FCC != 1 {
		t.Errorf("defaults %+v, want variables.tf's sv, c3.small.x86 and 3/1/1, on ubuntu_24_04 (Metal offers no ubuntu_20_04)", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
	var names []string
	for _, h := range c.Topology().Hosts {
		names = append(names, fmt.Sprintf("%s/%s", h.Name, h.Role))
	}
	if want := []string{"consul00/consul", "consul01/consul", "consul02/consul", "fcs00/fcs", "fcc00/fcc"}; !slices.Equal(names, want) {
		t.Errorf("hosts %v, want %v", names, want)
	}
	c.Consul, c.FCS, c.FCC = 5, 2, 1
	if err := c.Topology().Validate(); err != nil || len(c.Topology().Hosts) != 8 || c.Topology().Hosts[4].Name != "consul04" || c.Topology().Hosts[6].Name != "fcs01" {
		t.Errorf("5/2/1: %v %v", c.Topology().Hosts, err)
	}
}

func TestConfigFiles(t *testing.T) {
	const project = "9b2c1d40-3e4f-4a5b-8c6d-7e8f90a1b2c3"
	cases := []struct {
		name, file, body string
		want             func(Config) bool
		wantErr          string
	}{
		{
			name: "a YAML file with the variables.tf names",
			file: "lab.yaml",
			body: "project_id: " + project + "\nmetro: da\nplan: m3.small.x86\noperating_system: ubuntu_24_04\nconsul_count: 5\nfcs_count: 2\nready_timeout: 40m\n",
			want: func(c Config) bool {
				return c.Project == project && c.Metro == "da" && c.Plan == "m3.small.x86" && c.OS == "ubuntu_24_04" &&
					c.Consul == 5 && c.FCS == 2 && c.FCC == 1 && c.Timing.Ready == 40*time.Minute
			},
		},
		{
			name: "a JSON file",
			file: "lab.json",
			body: `{"project_id": "` + project + `", "metro": "ny", "fcc_count": 2}`,
			want: func(c Config) bool {
				return c.Project == project && c.Metro == "ny" && c.FCC == 2 && c.Plan == DefaultPlan
			},
		},
		{
			name: "an empty file changes nothing",
			file: "empty.yaml",
			want: func(c Config) bool { return c.Metro == DefaultMetro && c.Consul == 3 },
		},
		{
			name:    "an unknown key is a mistake",
			file:    "lab.yaml",
			body:    "metroo: da\n",
			wantErr: "metroo",
		},
		{
			name:    "an unknown JSON key is a mistake",
			file:    "lab.json",
			body:    `{"metroo": "da"}`,
			wantErr: "metroo",
		},
		{
			name:    "a token in a YAML file is refused without repeating it",
			file:    "lab.yaml",
			body:    "auth_token: " + secret + "\n",
			wantErr: `remove "auth_token": the token is read from METAL_AUTH_TOKEN only`,
		},
		{
			name:    "a token in a JSON file is refused without repeating it",
			file:    "lab.json",
			body:    `{"token": "` + secret + `"}`,
			wantErr: `remove "token"`,
		},
		{
			name:    "a ready timeout that is not a duration",
			file:    "lab.yaml",
			body:    "ready_timeout: soon\n",
			wantErr: "ready_timeout",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			c := DefaultConfig()
			err := c.LoadFile(path)
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("the error repeats the token: %v", err)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one with %q", err, tc.wantErr)
			case tc.want != nil && !tc.want(c):
				t.Errorf("config %+v", c)
			}
		})
	}
}

func TestValidateSaysWhatIsWrong(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"a project that is not a UUID", func(c *Config) { c.Project = "my-project" }, "not a project UUID"},
		{"a metro that is not a code", func(c *Config) { c.Metro = "Silicon Valley" }, "two-letter metro code"},
		{"a plan that is not a slug", func(c *Config) { c.Plan = "c3 small" }, "plan slug"},
		{"an OS that is not a slug", func(c *Config) { c.OS = "Ubuntu 20.04" }, "OS slug"},
		{"no consul server", func(c *Config) { c.Consul = 0 }, "consul count 0"},
		{"an even number of consul servers", func(c *Config) { c.Consul = 4 }, "odd number"},
		{"eleven consumers", func(c *Config) { c.FCC = 11 }, "fcc count 11"},
		{"a token sent in clear text", func(c *Config) { c.APIURL = "http://api.example.com/metal/v1" }, "only travels over https"},
		{"the fake on this machine", func(c *Config) { c.APIURL = "http://127.0.0.1:8080/metal/v1" }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one with %q", err, tc.wantErr)
			}
		})
	}
}

func TestTheTokenComesFromTheEnvironment(t *testing.T) {
	t.Setenv(EnvToken, " "+secret+"\n")
	t.Setenv(EnvProject, "9b2c1d40-3e4f-4a5b-8c6d-7e8f90a1b2c3")
	c := DefaultConfig()
	c.FromEnv()
	if string(c.Token) != secret || c.Project != "9b2c1d40-3e4f-4a5b-8c6d-7e8f90a1b2c3" {
		t.Errorf("from the environment: project %q, token ok %v", c.Project, string(c.Token) == secret)
	}
}

func TestAConfigNeverPrintsItsToken(t *testing.T) {
	c := DefaultConfig()
	c.Token = secret
	j, _ := json.Marshal(c)
	y, _ := yaml.Marshal(c)
	for _, s := range []string{
		fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c.Token), fmt.Sprint(c.Token),
		string(j), string(y),
	} {
		if strings.Contains(s, secret) {
			t.Errorf("the token is printed: %s", s)
		}
	}
}
