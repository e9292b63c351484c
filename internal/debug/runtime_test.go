package debug

import (
	"reflect"
	"testing"
)

func TestDetect(t *testing.T) {
	cases := []struct {
		name string
		argv []string
		env  []string
		want Runtime
	}{
		{"go by GOTRACEBACK", []string{"/app"}, []string{"PATH=/bin", "GOTRACEBACK=single"}, Go},
		{"go by ko", []string{"/ko-app/hello"}, []string{"KO_DATA_PATH=/var/run/ko"}, Go},
		{"go under dlv", []string{"/dlv", "exec", "/app"}, nil, Go},
		{"python script", []string{"python3", "app.py"}, nil, Python},
		{"python with a version", []string{"/usr/bin/python3.11", "-u", "app.py"}, nil, Python},
		{"python by PYTHON_VERSION", []string{"/entry"}, []string{"PYTHON_VERSION=3.11.2"}, Python},
		{"gunicorn", []string{"gunicorn", "-b", ":8080", "app:app"}, nil, Python},
		{"flask", []string{"flask", "run"}, nil, Python},
		{"uvicorn", []string{"uvicorn", "main:app"}, nil, Python},
		{"node", []string{"node", "server.js"}, nil, Node},
		{"npm", []string{"npm", "start"}, nil, Node},
		{"node by NODE_VERSION", []string{"docker-entrypoint.sh"}, []string{"NODE_VERSION=22.1.0"}, Node},
		{"sh -c exec python", []string{"/bin/sh", "-c", "exec python3 app.py"}, nil, Python},
		{"the command wins over the environment", []string{"node", "x.js"}, []string{"GOTRACEBACK=all"}, Node},
		{"unknown", []string{"/server"}, []string{"PATH=/bin"}, ""},
		{"nothing", nil, nil, ""},
		{"pythonic name that is not python", []string{"pythonista"}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Detect(c.argv, c.env); got != c.want {
				t.Errorf("Detect(%q, %q) = %q, want %q", c.argv, c.env, got, c.want)
			}
		})
	}
}

func TestParseRuntime(t *testing.T) {
	for in, want := range map[string]Runtime{"go": Go, "python": Python, "nodejs": Node, "node": Node} {
		if got, err := ParseRuntime(in); err != nil || got != want {
			t.Errorf("ParseRuntime(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseRuntime("java")
	if err == nil || err.Error() != `unknown debug runtime "java" (known: go, python, nodejs)` {
		t.Errorf("ParseRuntime(java) error = %v", err)
	}
}

func TestCommand(t *testing.T) {
	cases := []struct {
		name    string
		r       Runtime
		argv    []string
		env     []string
		want    []string
		wantEnv map[string]string
	}{
		{"go with args", Go, []string{"/app", "-v", "x"}, nil,
			[]string{"/dbg/go/dlv", "exec", "--headless", "--continue", "--accept-multiclient", "--api-version=2", "--listen=:56268", "/app", "--", "-v", "x"}, nil},
		{"go alone", Go, []string{"/app"}, nil,
			[]string{"/dbg/go/dlv", "exec", "--headless", "--continue", "--accept-multiclient", "--api-version=2", "--listen=:56268", "/app"}, nil},
		{"go already under dlv", Go, []string{"dlv", "exec", "/app"}, nil, []string{"dlv", "exec", "/app"}, nil},
		{"python script", Python, []string{"python3", "-u", "app.py", "--port", "80"}, nil,
			[]string{"python3", "-u", "-m", "debugpy", "--listen", "0.0.0.0:56268", "app.py", "--port", "80"},
			map[string]string{"PYTHONPATH": "/dbg/python"}},
		{"python module", Python, []string{"python", "-m", "http.server"}, []string{"PYTHONPATH=/src"},
			[]string{"python", "-m", "debugpy", "--listen", "0.0.0.0:56268", "-m", "http.server"},
			map[string]string{"PYTHONPATH": "/dbg/python:/src"}},
		{"flask run", Python, []string{"flask", "run", "--host=0.0.0.0"}, nil,
			[]string{"python3", "-m", "debugpy", "--listen", "0.0.0.0:56268", "-m", "flask", "run", "--host=0.0.0.0"},
			map[string]string{"PYTHONPATH": "/dbg/python"}},
		{"gunicorn", Python, []string{"/usr/bin/gunicorn", "-b", ":8080", "app:app"}, nil,
			[]string{"python3", "-m", "debugpy", "--listen", "0.0.0.0:56268", "-m", "gunicorn", "-b", ":8080", "app:app"},
			map[string]string{"PYTHONPATH": "/dbg/python"}},
		{"node", Node, []string{"node", "server.js"}, nil,
			[]string{"node", "--inspect=0.0.0.0:56268", "server.js"}, nil},
		{"npm", Node, []string{"npm", "start"}, []string{"NODE_OPTIONS=--max-old-space-size=256"},
			[]string{"npm", "start"}, map[string]string{"NODE_OPTIONS": "--max-old-space-size=256 --inspect=0.0.0.0:56268"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, env := command(c.r, c.argv, 56268, c.env)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("command = %q\nwant      %q", got, c.want)
			}
			if len(env) != 0 || len(c.wantEnv) != 0 {
				if !reflect.DeepEqual(env, c.wantEnv) {
					t.Errorf("env = %v, want %v", env, c.wantEnv)
				}
			}
		})
	}
}
