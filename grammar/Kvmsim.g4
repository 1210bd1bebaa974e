// The kvmsim language. This grammar only parses: it knows the shapes of statements, not which
// attributes a block may hold or what a value means. Names, attributes, units and ranges are
// checked in code against a schema (org.kvmsim.lang.Schema), which is what lets a diagnostic say
// "did you mean 'pages_to_scan'?" and suggest only names valid in that place.
grammar Kvmsim;

script : sep* (statement (sep+ statement)*)? sep* EOF ;

sep : NL | ';' ;

statement
    : KSM POLICY name=ident body=block?                                           # ksmPolicyDecl
    | HOST name=ident body=block?                                                 # hostDecl
    | IMAGE name=ident body=block?                                                # imageDecl
    | VM name=ident (ON host=ident)? (LIKE base=ident)? body=block?               # vmDecl
    | WORKLOAD name=ident ON target (',' target)* body=block?                     # workloadDecl
    | PAGETABLE name=ident IN vm=ident body=block?                                # pagetableDecl
    | CONTENTS vm=ident body=block                                                # contentsDecl
    | IMPORT LIBVIRT file=STRING (AS name=ident)? ON host=ident body=block?       # importLibvirt
    | RUN UNTIL path '=' value                                                    # runUntil
    | RUN value                                                                   # runFor
    | WRITE vm=ident PAGES pageRange '=' value                                    # writeStmt
    | SET path '=' value                                                          # setStmt
    | START VM? name=ident                                                        # startStmt
    | STOP VM? name=ident                                                         # stopStmt
    | RESET what=ident?                                                           # resetStmt
    | SWEEP path IN list NL* '{' sep* (statement (sep+ statement)*)? sep* '}'     # sweepStmt
    | SHOW showArg+ (ON host=ident)?                                              # showStmt
    | PLOT table=ident body=block                                                 # plotStmt
    | EXPORT table=ident TO STRING                                                # exportStmt
    | PRINT STRING                                                                # printStmt
    ;

target : vm=ident ('.' pagetable=ident)? ;

path : ident ('.' ident)* ;

showArg : path | HEX | NUMBER | STRING ;

block : NL* '{' sep* (item (sep+ item)*)? sep* '}' ;

item
    : name=ident '=' value                                                        # attrItem
    | PAGES pageRange '=' value                                                   # pagesItem
    | MAP addr=HEX SIZE size=quantity PAGE page=quantity                          # mapItem
    | kind=ident label=ident? body=block                                          # blockItem
    ;

pageRange : from=NUMBER '..' to=NUMBER ;

quantity : NUMBER ident? ;

// A value is a short run of atoms ("2 GiB", "hugepages pool2m", "same 1", "changing every 2 ms");
// the checker reads it according to the attribute it is given to.
value : atom+ ;

atom
    : NUMBER '%'                                                                  # percentAtom
    | NUMBER                                                                      # numberAtom
    | HEX                                                                         # hexAtom
    | STRING                                                                      # stringAtom
    | ident '(' (value (',' value)*)? ')'                                         # callAtom
    | ident                                                                       # wordAtom
    | ON                                                                          # onAtom
    | list                                                                        # listAtom
    ;

list : '[' NL* (value (NL* ',' NL* value)*)? NL* ']' ;

// Keywords are soft: wherever a name is expected, a keyword is a name too (`show ksm by vm`).
// Three are not: `on` (it ends `show ... on HOST`; as a value it is an atom of its own), and
// `map`/`page`, which delimit a pagetable's `map ADDR size S page P`.
ident
    : IDENT | KSM | POLICY | HOST | IMAGE | VM | WORKLOAD | PAGETABLE | CONTENTS | LIKE | IN
    | RUN | UNTIL | WRITE | SET | START | STOP | RESET | SWEEP | SHOW | PLOT | EXPORT | PRINT | TO
    | PAGES | SIZE | IMPORT | LIBVIRT | AS
    ;

KSM       : 'ksm' ;
POLICY    : 'policy' ;
HOST      : 'host' ;
IMAGE     : 'image' ;
VM        : 'vm' ;
WORKLOAD  : 'workload' ;
PAGETABLE : 'pagetable' ;
CONTENTS  : 'contents' ;
ON        : 'on' ;
LIKE      : 'like' ;
IN        : 'in' ;
RUN       : 'run' ;
UNTIL     : 'until' ;
WRITE     : 'write' ;
SET       : 'set' ;
START     : 'start' ;
STOP      : 'stop' ;
RESET     : 'reset' ;
SWEEP     : 'sweep' ;
SHOW      : 'show' ;
PLOT      : 'plot' ;
EXPORT    : 'export' ;
PRINT     : 'print' ;
TO        : 'to' ;
PAGES     : 'pages' ;
IMPORT    : 'import' ;
LIBVIRT   : 'libvirt' ;
AS        : 'as' ;
MAP       : 'map' ;
SIZE      : 'size' ;
PAGE      : 'page' ;

HEX    : '0' [xX] [0-9a-fA-F_]+ ;
NUMBER : [0-9] [0-9_]* ('.' [0-9]+)? ;
STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"' ;
IDENT  : [a-zA-Z_] [a-zA-Z0-9_]* ;

DOTDOT : '..' ;
DOT    : '.' ;
EQ     : '=' ;
COMMA  : ',' ;
SEMI   : ';' ;
LBRACE : '{' ;
RBRACE : '}' ;
LBRACK : '[' ;
RBRACK : ']' ;
LPAREN : '(' ;
RPAREN : ')' ;
PCT    : '%' ;

NL      : '\r'? '\n' | '\r' ;
WS      : [ \t\f]+ -> skip ;
COMMENT : '#' ~[\r\n]* -> skip ;

// Anything else becomes a token of its own, so that the parser (not the lexer) reports it with
// a position, and garbage input yields diagnostics instead of lexer exceptions.
UNTERMINATED_STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* ;
ERRCHAR : . ;
