// pulumi-language-python: a stand-in for Pulumi's Python language host.
//
// Upstream's host lives in its own Go module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3), which the
// module mirror this project builds from does not serve. This one stands in for
// it, built against the same sdk/v3 release as the CLI, and behaves as upstream's
// sdk/python/cmd/pulumi-language-python/main.go does at that tag (v3.259.0) on
// everything a Python program or policy pack meets: each function below names
// the upstream function it follows, and tests/engine/test_language_host.py checks
// the behaviours row by row. All Python specifics (virtualenv, pip, uv, poetry,
// PULUMI_PYTHON_CMD) are the SDK's own python/toolchain package, as upstream's are.
// Where upstream and this project disagree, the project changes, never this file.
//
// Not implemented (the engine gets Unimplemented, which it tolerates for these):
// code generation (GenerateProject, GenerateProgram, GeneratePackage, Pack, Link,
// Template) and the debugger attachment. Differences that remain are listed in
// sandbox/README.md ("The language host").
//
// sandbox/toolchain (sandbox/recipes/pulumi.py) builds this file inside a
// generated module that pins those versions; it belongs to no module here.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/blang/semver"
	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	// The script that runs programs, installed next to the host (upstream: pythonDefaultExec).
	execName = "pulumi-language-python-exec"
	// The exec script's exit code for "the error was already shown to the user" (upstream:
	// pythonProcessExitedAfterShowingUserActionableMessage).
	exitCodeUserActionable = 32
)

// Upstream: minimumSupportedPythonVersion and eolPythonVersion (both 3.7.0 at v3.259.0).
var minimumPython = semver.MustParse("3.7.0")

// main follows upstream main(): -version, -use-executor, the exec script beside the
// host, a health check on the engine, the port on the first line of output.
func main() {
	var tracing, executor string
	flag.StringVar(&tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	showVersion := flag.Bool("version", false, "Print the current plugin version and exit")
	flag.StringVar(&executor, "use-executor", "", "Use the given program as the executor instead of looking for one on PATH")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		os.Exit(0)
	}
	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-python", "pulumi-language-python", tracing)

	if executor == "" {
		self, err := os.Executable()
		if err != nil {
			cmdutil.Exit(fmt.Errorf("could not determine current executable: %w", err))
		}
		executor = filepath.Join(filepath.Dir(self), execName)
		if _, err := os.Stat(executor); os.IsNotExist(err) {
			cmdutil.Exit(fmt.Errorf("missing executor %s: %w", executor, err))
		}
	}
	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	cancelChannel := make(chan bool)
	go func() {
		<-ctx.Done()
		cancel()
		close(cancelChannel)
	}()
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelChannel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, newHost(executor, engineAddress, tracing))
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

type pythonHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	exec          string
	engineAddress string
	tracing       string
	cancelCtx     context.Context // done when the engine calls Cancel
	cancelFunc    context.CancelFunc
}

func newHost(exec, engineAddress, tracing string) *pythonHost {
	ctx, cancel := context.WithCancel(context.Background())
	return &pythonHost{exec: exec, engineAddress: engineAddress, tracing: tracing, cancelCtx: ctx, cancelFunc: cancel}
}

// parseOptions follows upstream parseOptions: Pulumi.yaml's runtime.options as
// toolchain options. No `toolchain` key is Auto (lockfile detection, else pip);
// plugins other than policy packs get virtualenv `venv` when none is set.
func parseOptions(root, programDir string, options map[string]any, isPlugin bool) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{Root: root, ProgramDir: programDir}
	if raw, ok := options["virtualenv"]; ok {
		value, ok := raw.(string)
		if !ok {
			return opts, errors.New("virtualenv option must be a string")
		}
		opts.Virtualenv = value
	}
	if raw, ok := options["typechecker"]; ok {
		value, ok := raw.(string)
		if !ok {
			return opts, errors.New("typechecker option must be a string")
		}
		switch value {
		case "mypy":
			opts.Typechecker = toolchain.TypeCheckerMypy
		case "pyright":
			opts.Typechecker = toolchain.TypeCheckerPyright
		default:
			return opts, fmt.Errorf("unsupported typechecker option: %s", value)
		}
	}
	if raw, ok := options["toolchain"]; ok {
		value, ok := raw.(string)
		if !ok {
			return opts, errors.New("toolchain option must be a string")
		}
		switch value {
		case "pip":
			opts.Toolchain = toolchain.Pip
		case "poetry":
			opts.Toolchain = toolchain.Poetry
		case "uv":
			opts.Toolchain = toolchain.Uv
		default:
			return opts, fmt.Errorf("unsupported toolchain option: %s", value)
		}
	}
	if isPlugin && (opts.Toolchain == toolchain.Pip || opts.Toolchain == toolchain.Auto) && opts.Virtualenv == "" {
		opts.Virtualenv = "venv"
	}
	return opts, nil
}

func resolve(info *pulumirpc.ProgramInfo, isPlugin bool) (toolchain.Toolchain, toolchain.PythonOptions, error) {
	opts, err := parseOptions(info.GetRootDirectory(), info.GetProgramDirectory(), info.GetOptions().AsMap(), isPlugin)
	if err != nil {
		return nil, opts, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	return tc, opts, err
}

// engineClient follows upstream connectToEngine.
func (h *pythonHost) engineClient() (pulumirpc.EngineClient, io.Closer, error) {
	if h.engineAddress == "" {
		return nil, nil, errors.New("when debugging or running explicitly, must call Handshake before Run")
	}
	conn, err := grpc.NewClient(h.engineAddress, grpc.WithTransportCredentials(insecure.NewCredentials()),
		rpcutil.GrpcChannelOptions())
	if err != nil {
		return nil, nil, fmt.Errorf("language host could not make connection to engine: %w", err)
	}
	return pulumirpc.NewEngineClient(conn), conn, nil
}

// engineLog writes to the engine's log as ephemeral messages of one stream (upstream: logWriter).
type engineLog struct {
	ctx      context.Context
	client   pulumirpc.EngineClient
	stream   int32
	severity pulumirpc.LogSeverity
}

func (w engineLog) Write(p []byte) (int, error) {
	_, err := w.client.Log(w.ctx, &pulumirpc.LogRequest{
		Message: strings.ToValidUTF8(string(p), "\uFFFD"), Ephemeral: true, StreamId: w.stream, Severity: w.severity,
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// GetRequiredPackages follows upstream GetRequiredPackages: the virtualenv is created
// (and the program directory's requirements.txt installed) if it does not exist yet,
// the Python version checked, then the installed Pulumi packages listed.
func (h *pythonHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	tc, opts, err := resolve(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	client, closer, err := h.engineClient()
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	stream := rand.Int31() //nolint:gosec // a log stream id, not a secret
	stdout := engineLog{ctx, client, stream, pulumirpc.LogSeverity_INFO}
	stderr := engineLog{ctx, client, stream, pulumirpc.LogSeverity_ERROR}
	if err := tc.EnsureVenv(ctx, req.GetInfo().GetProgramDirectory(), false, true, stdout, stderr); err != nil {
		return nil, err
	}
	checkPythonVersion(ctx, opts)
	return requiredPackages(ctx, tc)
}

// Packages known to ship no plugin (upstream: packagesWithoutPlugins).
var noPlugin = map[string]bool{"pulumi-policy": true, "pulumi-esc-sdk": true}

// pluginManifests prints, as JSON, the pulumi-plugin.json of each package named on its
// command line ("" where it has none): how Pulumi packages declare the plugin they need.
const pluginManifests = `
import importlib.metadata as md, json, sys
found = {}
for name in sys.argv[1:]:
    found[name] = ""
    try:
        for f in md.distribution(name).files or []:
            if f.name == "pulumi-plugin.json":
                found[name] = f.read_text()
                break
    except Exception:
        pass
json.dump(found, sys.stdout)
`

// pluginManifest is the part of pulumi-plugin.json a program's packages are read for.
type pluginManifest struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

// requiredPackages follows upstream listPulumiPackageInfos and packageDependencyFromPluginJSON:
// the toolchain lists the packages (`pip list`); one with a pulumi-plugin.json, or named
// pulumi-*, is a Pulumi package; `resource: false` means no plugin; name and version default
// to the package's (pulumi-kubernetes -> kubernetes).
func requiredPackages(ctx context.Context, tc toolchain.Toolchain) (*pulumirpc.GetRequiredPackagesResponse, error) {
	packages, err := tc.ListPackages(ctx, true)
	if err != nil {
		return nil, err
	}
	manifests := map[string]string{}
	if len(packages) > 0 {
		args := []string{"-c", pluginManifests}
		for _, p := range packages {
			args = append(args, p.Name)
		}
		cmd, err := tc.Command(ctx, args...)
		if err != nil {
			return nil, err
		}
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("reading the packages' pulumi-plugin.json: %w", commandError(err))
		}
		if err := json.Unmarshal(out, &manifests); err != nil {
			return nil, fmt.Errorf("failed to parse pulumi-plugin.json paths: %w", err)
		}
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{Packages: []*pulumirpc.PackageDependency{}}
	for _, p := range packages {
		if noPlugin[p.Name] {
			continue
		}
		var manifest *pluginManifest
		if text := manifests[p.Name]; text != "" {
			manifest = &pluginManifest{}
			if err := json.Unmarshal([]byte(text), manifest); err != nil {
				return nil, fmt.Errorf("failed to parse pulumi-plugin.json for %s: %w", p.Name, err)
			}
		}
		if manifest == nil && !strings.HasPrefix(p.Name, "pulumi-") {
			continue
		}
		if manifest != nil && !manifest.Resource {
			continue
		}
		name, ver, server := strings.TrimPrefix(p.Name, "pulumi-"), p.Version, ""
		if manifest != nil {
			if manifest.Name != "" {
				name = manifest.Name
			}
			if manifest.Version != "" {
				ver = manifest.Version
			}
			server = manifest.Server
		}
		if !strings.HasPrefix(ver, "v") {
			ver = "v" + ver
		}
		resp.Packages = append(resp.Packages, &pulumirpc.PackageDependency{
			Name: name, Kind: "resource", Version: ver, Server: server,
		})
	}
	return resp, nil
}

// checkPythonVersion follows upstream validateVersion: a Python older than the
// minimum is said on stderr, which the engine shows as a diagnostic; nothing fails.
func checkPythonVersion(ctx context.Context, opts toolchain.PythonOptions) {
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Failed to configure python toolchain: %s\n", err)
		return
	}
	cmd, err := tc.Command(ctx, "--version")
	if err != nil {
		fmt.Fprintf(os.Stderr, "Failed to create python version command: %s\n", err)
		return
	}
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "Failed to resolve python version command: %s\n", err)
		return
	}
	text := regexp.MustCompile(`-?rc\d+$`).ReplaceAllString(strings.TrimSpace(strings.TrimPrefix(string(out), "Python ")), "")
	parsed, err := semver.Parse(text)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Failed to parse python version: '%s'\n", text)
		return
	}
	if parsed.LT(minimumPython) {
		fmt.Fprintf(os.Stderr, "Pulumi does not support Python %s. Please upgrade to at least %s\n", parsed, minimumPython)
	}
}

// Run follows upstream Run: the exec script in the project's interpreter, after the
// virtualenv is validated (its error goes back to the engine as is); PULUMI_CONFIG
// only when the stack has config; the typechecker first when one is configured.
func (h *pythonHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	_, closer, err := h.engineClient()
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	tc, opts, err := resolve(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	args := append([]string{h.exec}, h.arguments(req)...)
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}

	runCtx, stop := context.WithCancel(h.cancelCtx)
	context.AfterFunc(ctx, stop)
	cmd, err := tc.Command(runCtx, args...)
	if err != nil {
		return nil, err
	}
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	if config := req.GetConfig(); config != nil {
		encoded, err := json.Marshal(config)
		if err != nil {
			return nil, fmt.Errorf("failed to serialize configuration: %w", err)
		}
		env = append(env, "PULUMI_CONFIG="+string(encoded))
	}
	secretKeys := "[]"
	if keys := req.GetConfigSecretKeys(); keys != nil {
		encoded, err := json.Marshal(keys)
		if err != nil {
			return nil, fmt.Errorf("failed to serialize configuration secret keys: %w", err)
		}
		secretKeys = string(encoded)
	}
	cmd.Env = append(env, "PULUMI_CONFIG_SECRET_KEYS="+secretKeys)

	if err := typecheck(ctx, tc, opts, req.GetInfo().GetProgramDirectory()); err != nil {
		return nil, err
	}
	if err := cmd.Run(); err != nil {
		_ = os.Stdout.Sync()
		_ = os.Stderr.Sync()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("problem executing program (could not run language executor): %v", err),
			}, nil
		}
		status, ok := exitErr.Sys().(syscall.WaitStatus)
		switch {
		case !ok || status.ExitStatus() == 0:
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited unexpectedly: %v", exitErr)}, nil
		case status.ExitStatus() == exitCodeUserActionable:
			return &pulumirpc.RunResponse{Bail: true}, nil
		default:
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("program exited with non-zero exit code: %d", status.ExitStatus()),
			}, nil
		}
	}
	return &pulumirpc.RunResponse{}, nil
}

// arguments follows upstream constructArguments: the exec script's flags, each only
// when it has a value, then the entry point and the program's own arguments.
func (h *pythonHost) arguments(req *pulumirpc.RunRequest) []string {
	var args []string
	add := func(flag, value string) {
		if value != "" {
			args = append(args, "--"+flag, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engineAddress)
	add("project", req.GetProject())
	add("root_directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("tracing", h.tracing)
	add("organization", req.GetOrganization())
	args = append(args, req.GetInfo().GetEntryPoint())
	return append(args, req.GetArgs()...)
}

// typecheck follows the typechecker part of upstream Run: `python -m mypy --exclude
// <virtualenv> <program dir>` (or pyright) in the program directory; not installed,
// or failing, is an error that stops the run.
func typecheck(ctx context.Context, tc toolchain.Toolchain, opts toolchain.PythonOptions, programDir string) error {
	var module string
	switch opts.Typechecker {
	case toolchain.TypeCheckerMypy:
		module = "mypy"
	case toolchain.TypeCheckerPyright:
		module = "pyright"
	default:
		return nil
	}
	args := []string{"-m", module}
	if module == "mypy" {
		venv, err := tc.VirtualEnvPath(ctx)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(programDir, venv)
		if err != nil {
			return err
		}
		args = append(args, "--exclude", rel)
	}
	cmd, err := tc.Command(ctx, append(args, programDir)...)
	if err != nil {
		return err
	}
	var output bytes.Buffer
	cmd.Stdout = io.MultiWriter(os.Stdout, &output)
	cmd.Stderr = io.MultiWriter(os.Stderr, &output)
	cmd.Dir = programDir
	packages, err := tc.ListPackages(ctx, true)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(packages, func(p plugin.DependencyInfo) bool { return p.Name == module }) {
		install := fmt.Sprintf("Please install it using `poetry add %s`.", module)
		if opts.Toolchain != toolchain.Poetry {
			install = fmt.Sprintf("Please add an entry for %s to requirements.txt and run `%s`", module,
				opts.Virtualenv+"/bin/pip install -r requirements.txt")
		}
		return fmt.Errorf("The typechecker option is set to %s, but %s is not installed. %s", module, module, install)
	}
	if err := cmd.Run(); err != nil {
		if output.Len() > 0 {
			return fmt.Errorf("%s failed: %w\n%s", module, err, output.String())
		}
		return fmt.Errorf("%s failed: %w", module, err)
	}
	return nil
}

// InstallDependencies follows upstream InstallDependencies: the toolchain installs the
// program directory's dependencies (for `main: infra/`, infra/requirements.txt) into
// the virtualenv, which is resolved against the project root; a buildable plugin is
// also installed itself.
func (h *pythonHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	tc, _, err := resolve(req.GetInfo(), req.GetIsPlugin())
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	_, _ = stdout.Write([]byte("Installing dependencies...\n\n"))
	dir := req.GetInfo().GetProgramDirectory()
	languageTools := req.GetUseLanguageVersionTools()
	if req.GetIsPlugin() {
		buildable, err := toolchain.IsBuildablePackage(dir)
		if err != nil {
			return fmt.Errorf("checking if plugin is a buildable package: %w", err)
		}
		if buildable {
			if err := tc.EnsureVenv(server.Context(), dir, languageTools, true, stdout, stderr); err != nil {
				return fmt.Errorf("creating virtual environment: %w", err)
			}
			cmd, err := tc.ModuleCommand(server.Context(), "pip", "install", dir)
			if err != nil {
				return fmt.Errorf("preparing pip install command: %w", err)
			}
			cmd.Stdout, cmd.Stderr = stdout, stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("installing package: %w", err)
			}
		}
	}
	if err := tc.InstallDependencies(server.Context(), dir, languageTools, true, stdout, stderr); err != nil {
		return err
	}
	_, _ = stdout.Write([]byte("Finished installing dependencies\n\n"))
	return closer.Close()
}

// RunPlugin follows upstream RunPlugin. A policy pack (kind analyzer) runs as
// `python -u -m pulumi.policy <args> <pack dir>` in the pack's directory, with the
// stack's project, stack, dry-run flag and config in its environment (upstream's
// policy proxy, from the SDK); other plugins run `python <dir> <args>` in pwd, or
// `python -m pulumi.run.plugin <name>` for a buildable package without __main__.py.
func (h *pythonHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	ctx := server.Context()
	_, closeEngine, err := h.engineClient()
	if err != nil {
		return err
	}
	defer closeEngine.Close()
	analyzer := req.GetKind() == string(apitype.AnalyzerPlugin)
	tc, opts, err := resolve(req.GetInfo(), !analyzer)
	if err != nil {
		return err
	}
	dir := req.GetInfo().GetProgramDirectory()

	hasMain := true
	if _, err := os.Stat(filepath.Join(opts.Root, "__main__.py")); err != nil {
		if !os.IsNotExist(err) {
			return fmt.Errorf("looking for __main__.py: %w", err)
		}
		hasMain = false
	}
	hasRunModule := true
	check, err := tc.Command(ctx, "-c", "import pulumi.run.plugin")
	if err != nil {
		return err
	}
	if out, err := check.CombinedOutput(); err != nil && strings.Contains(string(out), "ModuleNotFoundError") {
		hasRunModule = false
	}

	var cmd *exec.Cmd
	switch {
	case hasRunModule && !hasMain:
		buildable, err := toolchain.IsBuildablePackage(opts.Root)
		if err != nil {
			return fmt.Errorf("checking if plugin is a buildable package: %w", err)
		}
		if !buildable {
			return errors.New("plugin is not runnable, it provides neither __main__.py nor a buildable pyproject.toml")
		}
		pyproject, err := toolchain.LoadPyproject(opts.Root)
		if err != nil {
			return fmt.Errorf("loading pyproject: %w", err)
		}
		cmd, err = tc.ModuleCommand(ctx, "pulumi.run.plugin", append([]string{pyproject.Project.Name}, req.GetArgs()...)...)
		if err != nil {
			return err
		}
	case analyzer:
		args := append(append([]string{"-u", "-m", "pulumi.policy"}, req.GetArgs()...), dir)
		if cmd, err = tc.Command(ctx, args...); err != nil {
			return err
		}
	default:
		if cmd, err = tc.Command(ctx, append([]string{dir}, req.GetArgs()...)...); err != nil {
			return err
		}
	}

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	cmd.Dir = req.GetPwd()
	var proxy *sdk.PolicyProxy
	if analyzer {
		// Policy packs have always run in their own directory.
		cmd.Dir = dir
		if proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout); err != nil {
			return fmt.Errorf("could not start policy pack proxy: %w", err)
		}
		config, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get stack configuration: %w", err)
		}
		if config != nil {
			setenv := func(k, v string) {
				if v != "" {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
			}
			setenv("PULUMI_ORGANIZATION", config.GetOrganization())
			setenv("PULUMI_PROJECT", config.GetProject())
			setenv("PULUMI_STACK", config.GetStack())
			setenv("PULUMI_DRY_RUN", strconv.FormatBool(config.GetDryRun()))
			if config.GetConfig() != nil {
				encoded, err := json.Marshal(config.GetConfig())
				if err != nil {
					return fmt.Errorf("could not marshal stack configuration: %w", err)
				}
				setenv("PULUMI_CONFIG", string(encoded))
			}
		}
	}
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr

	run := func() error {
		if err := cmd.Start(); err != nil {
			return err
		}
		if proxy != nil {
			if err := proxy.Attach(ctx, cmd); err != nil {
				return fmt.Errorf("could not attach policy pack proxy: %w", err)
			}
			return nil
		}
		return cmd.Wait()
	}
	if err := run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if status, ok := exitErr.Sys().(syscall.WaitStatus); ok {
				return server.Send(&pulumirpc.RunPluginResponse{
					Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(status.ExitStatus())}, //nolint:gosec
				})
			}
			return fmt.Errorf("program exited unexpectedly: %w", exitErr)
		}
		return fmt.Errorf("problem executing plugin program (could not run language executor): %w", err)
	}
	return closer.Close()
}

func (h *pythonHost) GetPluginInfo(ctx context.Context, _ *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// Handshake follows upstream Handshake: remember the engine, exit when it goes away.
func (h *pythonHost) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	hctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	if err := rpcutil.Healthcheck(hctx, h.engineAddress, 5*time.Minute, cancel); err != nil {
		return nil, fmt.Errorf("could not start health check host RPC server: %w", err)
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// Cancel follows upstream Cancel: a running program is interrupted.
func (h *pythonHost) Cancel(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancelFunc()
	return &emptypb.Empty{}, nil
}

func (h *pythonHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, _, err := resolve(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: info.PythonExecutable, Version: info.PythonVersion.String()}, nil
}

func (h *pythonHost) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, _, err := resolve(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	deps, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, d := range deps {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: d.Name, Version: d.Version})
	}
	return resp, nil
}

// RuntimeOptionsPrompts: no questions to ask at `pulumi new` time.
func (h *pythonHost) RuntimeOptionsPrompts(
	ctx context.Context, req *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func commandError(err error) error {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && len(exitErr.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(exitErr.Stderr)))
	}
	return err
}
