// memjs ships no type declarations; the capture test only needs its client API loosely.
declare module 'memjs';
