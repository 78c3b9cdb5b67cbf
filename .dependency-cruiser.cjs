// The import rule: which of Letterpress's three programs may import what. Checked in `npm test`
// (scripts/checkImports.mjs, test/importRule.int.test.ts), so a wrong import fails CI, not review.
//
//   runtime/    the child process and the CLI: Node only, never the editor.
//   extension/  the VS Code host: talks to the runtime through runtime/protocol/, never runs its jobs.
//   webview/    the gallery's browser code: talks to the host through webview/protocol.ts.
//
// What crosses a boundary is the shared vocabulary: runtime/protocol/** (request descriptors, job
// vocabulary, limits). Besides that, the host may use two small runtime folders of pure helpers:
//   runtime/png/**    reading and writing a PNG's text chunks and their records (the gallery and Draw
//                     Exact Text read the `parameters` and `letterpress` chunks of images on disk);
//   runtime/files/**  Node file helpers (writes that never overwrite, pathExists), one copy for both.
// Everything else in runtime/ (pipeline, onnx, schedulers, legibility, export, modelStore, jobs,
// process) is the runtime's own: the host asks for it with a request instead (exports, for one, are
// runtime/image/export: the host never loads sharp for them).
//
// Parsed with swc: dependency-cruiser reads TypeScript with the `typescript` package only up to 6.x,
// and this project's is 7 (the native compiler, without the JavaScript API).

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle: modules that cannot be read, tested or loaded one without the other.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'vscode-only-in-host',
      severity: 'error',
      comment:
        'Only the extension host has the `vscode` module: runtime/ runs outside the editor (child process, ' +
        'CLI), and the webview reaches the host through messages.',
      from: { path: '^(runtime|webview)/' },
      to: { path: '^vscode$|(^|/)node_modules/@types/vscode/' },
    },
    {
      name: 'runtime-not-to-host-or-webview',
      severity: 'error',
      comment: 'runtime/ is used by the host and the CLI; it never reaches back into extension/ or webview/.',
      from: { path: '^runtime/' },
      to: { path: '^(extension|webview)/' },
    },
    {
      name: 'protocol-self-contained',
      severity: 'error',
      comment:
        'runtime/protocol/ is imported by the host, the webview and the runtime: it imports only itself, ' +
        'no runtime internals and no Node modules (it must load in a browser too).',
      from: { path: '^runtime/protocol/' },
      to: { pathNot: '^runtime/protocol/' },
    },
    {
      name: 'webview-only-itself-and-protocol',
      severity: 'error',
      comment:
        'webview/ is browser code: of this repository it imports only webview/ and runtime/protocol/ ' +
        '(browser packages from node_modules are fine; Node modules and `vscode` are not).',
      from: { path: '^webview/' },
      // Node built-ins are webview-no-node's to report.
      to: { pathNot: '^(webview|runtime/protocol)/|(^|/)node_modules/', dependencyTypesNot: ['core'] },
    },
    {
      name: 'webview-no-node',
      severity: 'error',
      comment: 'webview/ runs in a browser: no Node built-in modules.',
      from: { path: '^webview/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'host-only-shared-runtime',
      severity: 'error',
      comment:
        'extension/ uses the runtime through requests: of runtime/ it imports protocol/, png/ and files/ ' +
        '(see the top of this file), not the pipeline, jobs or process.',
      from: { path: '^extension/' },
      to: { path: '^runtime/', pathNot: '^runtime/(protocol|png|files)/' },
    },
    {
      name: 'host-only-webview-protocol',
      severity: 'error',
      comment: 'The host speaks to the gallery through webview/protocol.ts only; the rest of webview/ is browser code.',
      from: { path: '^extension/' },
      to: { path: '^webview/', pathNot: '^webview/protocol[.]ts$' },
    },
  ],
  options: {
    parser: 'swc',
    // `import type` counts: a type from a runtime internal couples the host to it just the same.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    // node_modules is not excluded, only not followed: an excluded import (vscode resolves to
    // node_modules/@types/vscode) would vanish from the graph instead of breaking a rule.
    exclude: { path: '^(dist|[.]cache|test/fixtures)/' },
  },
};
