// Nickname table for common English given names. One line per formal name: the formal name,
// a colon, then its usual short forms and variant spellings. A short form may appear under
// several formal names (Al: Albert, Alan, Alfred, Alexander); comparisons treat two given
// names as equivalent when they share any formal name.

const TABLE = `
aaron: ron ronnie ronny
abigail: abby abbie gail
abraham: abe bram
adam: ad
adrian: ade
agnes: aggie nessa
albert: al bert bertie
alan: al allan allen
alexander: al alex alec lex sandy xander sasha
alexandra: alex alexa lexi sandra sandy sasha alix
alfred: al alf alfie fred freddie
alice: ali allie alicia
allison: ali allie alison
amanda: mandy manda
amelia: amy millie mel
andrew: andy drew andre
angela: angie angel
ann: annie anna anne nan nancy
anthony: tony ant anton antony
antoinette: toni netta
arnold: arnie
arthur: art artie
barbara: barb barbie babs
benjamin: ben benny benji
bernard: bernie barney
beverly: bev
bradley: brad
brian: bryan
bridget: bridgie biddy
caroline: carol carrie caro lina
catherine: cathy cat kate katie kathy cate cath katherine kathryn kit
charles: charlie chuck chas chaz carl
charlotte: charlie lottie lotte char
christina: chris christy tina chrissy kristina
christine: chris chrissy tina kristine
christopher: chris kit topher cris
clarence: clare
clifford: cliff
clinton: clint
cornelius: neil connie
cynthia: cindy
daniel: dan danny
david: dave davey davy
deborah: deb debbie debra
dennis: denny
diana: di diane
dolores: lola dee
dominic: dom
donald: don donnie
dorothy: dot dottie dolly
douglas: doug
edward: ed eddie ted teddy ned
edwin: ed eddie win
eleanor: ellie nora nell elle lenore
elizabeth: liz lizzie beth betty betsy eliza libby lisa elisa bess bessie liza elise
emily: em emmy millie
emma: em emmy
eric: rick ricky erik
ernest: ernie
eugene: gene
evelyn: evie eve
frances: fran fanny frankie
francis: frank fran frankie
franklin: frank
frederick: fred freddie freddy fritz rick
gabriel: gabe
gabrielle: gabby gabi elle
geoffrey: geoff jeff jeffrey
gerald: gerry jerry
geraldine: geri gerry dina
gertrude: gertie trudy
gilbert: gil bert
gloria: glory
gregory: greg
gwendolyn: gwen wendy
harold: harry hal
harriet: hattie
harrison: harry
helen: nell nellie ellen lena
henry: harry hank hal
herbert: herb bert
howard: howie
isaac: ike
isabella: bella izzy isabel isabelle belle
jacob: jake jack
jacqueline: jackie jacqui
james: jim jimmy jamie jem jimbo
jane: janie jenny jan
janet: jan jenny
jean: jeanie
jeffrey: jeff geoff geoffrey
jennifer: jen jenny jenn jennie
jeremy: jerry jem
jerome: jerry
jessica: jess jessie
joan: joanie
john: jon johnny jack jonny jonathan johnathan jonathon
jonathan: jon john johnny jonny nathan johnathan jonathon
joseph: joe joey jo jos
josephine: jo josie joey
joshua: josh
judith: judy jude
julia: julie jules
julian: jules
katherine: kate katie kathy kat kay kit catherine kathryn
kenneth: ken kenny
kimberly: kim kimmy
lawrence: larry laurie lars laurence
leonard: len lenny leo
leslie: les
lillian: lily lil
louis: lou louie lewis
louise: lou lulu
lucas: luke
lucille: lucy
margaret: maggie meg peggy marge margie greta rita madge daisy peg maisie
marilyn: lynn
martha: marty patty mattie
martin: marty
mary: molly polly mae mamie marie maria
matthew: matt matty
melanie: mel
melissa: mel missy lisa
michael: mike mikey mick micky mickey mich
michelle: shelly michele
mitchell: mitch
nathan: nate nat
nathaniel: nate nat nathan
nicholas: nick nicky nico
nicole: nicky nikki cole
norman: norm
oliver: ollie
olivia: liv livvy ollie
pamela: pam
patricia: pat patty tricia trish patsy
patrick: pat paddy rick
paul: paulie
penelope: penny
peter: pete
philip: phil pip phillip
priscilla: prissy cilla
rachel: rach
randolph: randy
raymond: ray
rebecca: becky becca reba
richard: rick ricky dick rich richie
robert: bob bobby rob robbie bert robin
roberta: bobbie robbie berta
rodney: rod
ronald: ron ronnie
rosalind: ros roz
rose: rosie
russell: russ rusty
samantha: sam sammy
samuel: sam sammy
sandra: sandy
sarah: sally sadie sara
sebastian: seb bastian
stanley: stan
stephanie: steph stevie
stephen: steve stevie steven
susan: sue susie suzy
sylvester: sly
terence: terry
theodore: ted teddy theo
thomas: tom tommy thom
timothy: tim timmy
valerie: val
veronica: ronnie vera
victor: vic
victoria: vicky tori vic
vincent: vince vinny
virginia: ginny ginger
walter: walt wally
wilfred: will fred
william: bill billy will willy liam
winifred: winnie freddie
zachary: zach zack zak
anastasia: stacy stacey ana
augustus: gus augie
angus: gus
cassandra: cassie sandy
christian: chris
kristopher: kris chris
ferdinand: ferdie fred
ignatius: iggy
lorraine: lori
maximilian: max
maxwell: max
montgomery: monty
percival: percy
reginald: reg reggie
solomon: sol
tobias: toby
wesley: wes
frederica: freddie rica
marjorie: margie marge
madeline: maddie maddy
mackenzie: kenzie mack
gerard: gerry
ezekiel: zeke
jeannette: jenny
johanna: jo hannah
hannah: anna
`;

/** nickname or formal name -> formal names it stands for (a formal name includes itself). */
const FORMAL_NAMES: ReadonlyMap<string, readonly string[]> = buildTable(TABLE);

function buildTable(text: string): Map<string, string[]> {
	const map = new Map<string, string[]>();
	const add = (name: string, formal: string) => {
		const list = map.get(name);
		if (!list) map.set(name, [formal]);
		else if (!list.includes(formal)) list.push(formal);
	};
	for (const line of text.split('\n')) {
		const colon = line.indexOf(':');
		if (colon < 0) continue;
		const formal = line.slice(0, colon).trim();
		add(formal, formal);
		for (const nick of line.slice(colon + 1).trim().split(/\s+/)) {
			if (nick) add(nick, formal);
		}
	}
	for (const list of map.values()) list.sort();
	return map;
}

/**
 * The formal names a (normalised, lowercase) given name stands for, sorted; the name itself
 * when the table does not know it. Two given names are equivalent when these lists intersect.
 */
export function formalNames(givenName: string): readonly string[] {
	return FORMAL_NAMES.get(givenName) ?? [givenName];
}

/** Number of distinct names the table knows (for docs and tests). */
export const NICKNAME_TABLE_SIZE = FORMAL_NAMES.size;
