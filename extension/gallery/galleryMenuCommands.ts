// The card commands of VS Code's webview context menu: `letterpress.gallery.<name>`, listed in
// package.json under `menus["webview/context"]`. Host actions, plus Regenerate and Vary, which the
// page builds from the image and the form.
export const galleryMenuCommands = ['open', 'insertReference', 'regenerate', 'vary', 'variations', 'fixText', 'export', 'copyPath', 'copyPrompt', 'reveal', 'delete'] as const;
export type GalleryMenuCommand = (typeof galleryMenuCommands)[number];
