// Gallery webview entry point (browser).
export {};
