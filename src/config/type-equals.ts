// A compile-time check that two types are the same. Types only: nothing here exists at run time.

/**
 * `true` when A and B are the same type, `false` otherwise. Stricter than
 * assignability both ways: an optional key present on one side only, a
 * different literal union or a different `readonly` modifier all count as
 * different.
 */
export type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/**
 * Fails `tsc` unless T is `true`: `type _ = AssertTrue<Equals<A, B>>`. The
 * error ("Type 'false' does not satisfy the constraint 'true'") points at the
 * check; assigning a value of one type to the other shows which key differs.
 */
export type AssertTrue<T extends true> = T;
