// natural ships no types for its deep module paths.
declare module 'natural/lib/natural/stemmers/porter_stemmer.js';
