// Entry point of the runtime child process (see runtime/protocol.ts).
export {};
