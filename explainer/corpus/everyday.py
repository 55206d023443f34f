"""Everyday English: a seeded generator of ~1 MB of simple, varied English for training a tiny GPT.

Seven domains, each a handful of sentence templates with slots (see templates.py):

    weather   national-weather-service style bulletins; most contain the sentence
              "A flash flood watch will be in effect all night|day|weekend|morning ..."
    stories   short stories with a named character to copy (stories.py)
    food      meals, recipes, markets
    animals   zoo, savanna, farm, pets, the sea (giraffes live here, never in the weather)
    routines  daily routines
    facts     geography, science, numbers (true statements only)
    letters   notes, postcards and small talk

The weather domain carries the demo the app is built around: after "A flash flood watch will be
in effect all" the corpus continues with "night" 55% of the time, "day" 25%, "weekend" 15% and
"morning" 5%, so a model that has learned the statistics ranks "night" first, and a word that
never follows (" giraffe") last. Forms with "until 6 PM" use other wording ("will remain in
effect until") so they do not compete after "all".

Deterministic: everything is drawn from one `random.Random(seed)`; same seed, same text.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from . import stories
from .templates import COMMON, _w, fill, num_words


@dataclass(frozen=True)
class Doc:
    domain: str
    text: str


# --- weather ----------------------------------------------------------------------------------

FLOOD_PHRASE = "A flash flood watch will be in effect all"
# The distribution a trained model should reproduce after FLOOD_PHRASE.
FLOOD_SPANS = {"night": 55, "day": 25, "weekend": 15, "morning": 5}

WEATHER = dict(COMMON) | {
    "county": _w("Adams | Benton | Boone | Carroll | Clark | Clay | Clinton | Crawford | "
                 "Dallas | Decatur | Douglas | Fayette | Franklin | Fulton | Grant | Greene | "
                 "Hamilton | Hancock | Harrison | Henry | Howard | Jackson | Jasper | Jefferson | "
                 "Johnson | Knox | Lake | Lawrence | Lee | Lincoln | Logan | Madison | Marion | "
                 "Marshall | Monroe | Montgomery | Morgan | Perry | Pike | Polk | Putnam | "
                 "Randolph | Scott | Shelby | Union | Warren | Washington | Wayne | Webster | "
                 "Wood | Cherokee | Calhoun | Butler | Mercer | Orange | Owen | Ripley | Tipton"),
    "area": _w("northern valleys | river lowlands | coastal plain | southern hills | "
               "foothills | lake shore | upper river basin | eastern counties | "
               "western prairie | metro area | high plateau | northern suburbs"),
    "river": _w("Big Sandy | Cedar | Elk | Fox | Green | Little Blue | Mill Creek | Muddy | "
                "Osage | Pine | Red Fork | Rock | Salt | Stony | White | Wolf | Willow"),
    "opener": _w(
        "The National Weather Service in {city} has issued a new bulletin for {county} County. | "
        "This is the {daypart} weather update for {county} County and the {area}. | "
        "Here is the latest forecast for {city} and nearby towns, issued at {clock} on {weekday}. | "
        "Weather bulletin for the {area}, updated at {clock}. | "
        "Forecasters in {city} are watching a slow moving storm over the {area}. | "
        "Heavy rain is moving north toward {city} this {daypart}. | "
        "A line of thunderstorms will cross the {area} on {weekday}. | "
        "Rain continues to fall over {county} County after a wet {weekday}. | "
        "Good {daypart}, here is your weather for {city} and {county} County. | "
        "Storms that formed over the {area} are moving slowly east at {speed} miles per hour. | "
        "Radar shows bands of heavy rain from {city} to {city2}. | "
        "The weather office in {city} issued this statement at {clock}."),
    "flood_tail": _w(
        "for {county} County | for {county} and {county2} counties | for the {area} | "
        "along the {river} River | in {city} and nearby towns | "
        "for low areas near the {river} River | for most of the {area} | "
        "across {county}, {county2} and {county3} counties | for parts of {county} County | "
        "from {city} to {city2} | for the city of {city} | "
        "as storms repeat over the {area} | as more rain moves in from the {rain_from} | "
        "because the ground near {city} is already soaked | "
        "while the {river} River is running high"),
    "rain_from": _w("south | southwest | gulf | coast | west"),
    "flood_detail": _w(
        "Rain may fall at {rate} an hour at times. | "
        "Storms could bring {amount} inches of rain to the {area} before {clock}. | "
        "Creeks and small streams near {city} may rise quickly. | "
        "Do not drive through water on a flooded road {near}; turn around and find another way. | "
        "People living near the {river} River should be ready to move to higher ground. | "
        "Water may cover roads in low spots, especially near {low_spot}. | "
        "Total rainfall of {amount} to {amount2} inches is expected by {weekday}. | "
        "The {river} River is expected to rise above flood stage near {city}. | "
        "Streets in {city} that flooded last {season} may flood again. | "
        "Thunderstorms with heavy rain will form again this {daypart} over the {area}. | "
        "Keep your phone charged and listen for warnings from {city}. | "
        "Flooding is most likely in the {area} and along the {river} River. | "
        "A few storms may also bring {extra_hazard}. | "
        "Drivers near {low_spot} should watch for water on the road. | "
        "Rain will be heaviest between {clock} and {clock2}. | "
        "Some roads in {county} County were already closed by water on {weekday}."),
    "until": _w(
        "The watch will remain in effect until {clock} {day_ref}. | "
        "A flash flood warning remains in effect until {clock} for {county} County. | "
        "The flood watch for the {area} will remain in effect until {clock} {day_ref}. | "
        "A river flood warning continues until {clock} {day_ref} for the {river} River."),
    "day_ref": _w("tomorrow | on {weekday} | on {weekday} | on {weekday}"),
    "low_spot": _w("the railway underpass | the old mill | the county fairgrounds | "
                   "the river park | the school on {street} | the bridge on Route {route} | "
                   "the low end of {street} | Route {route}"),
    "route": _w("9 | 12 | 17 | 22 | 31 | 40 | 52 | 61 | 77 | 80 | 101"),
    "rate": _w("one inch | two inches | one to two inches | two to three inches | "
               "up to three inches"),
    "near": _w("near {city} | in {county} County | near {low_spot} | at night | in the dark"),
    "extra_hazard": _w("small hail and gusty winds | frequent lightning | brief strong winds | "
                       "pea sized hail | a few fallen trees"),
    "amount": _w("2 | 3 | 4 | 5 | 6"),
    "speed": _w("10 | 15 | 20 | 25"),
    "station": _w("local radio | weather radio | the {city} news | the county website | "
                  "the evening news"),
    "sky_day": _w("mostly sunny | partly cloudy | cloudy | rainy | showery | breezy and bright | "
                  "grey and damp | warm and humid | cool and clear"),
    "sky_night": _w("cloudy | mostly clear | rainy | foggy | calm and cool | mild and muggy"),
    "closer": _w(
        "Stay tuned to {station} for updates. | "
        "The next bulletin will be issued at {clock}. | "
        "Check the forecast again before you travel on {weekday}. | "
        "More updates will follow later this {daypart}. | "
        "Call the {county} County office if water reaches your home. | "
        "Please share this bulletin with neighbours in {city}."),
    "wind": _w(
        "A wind advisory is in effect from {clock} until {clock2} {day_ref}. | "
        "West winds of {wind_low} to {wind_high} miles per hour are expected, with gusts up to {gust}. | "
        "Loose objects such as {loose} could be blown around. | "
        "Strong winds may bring down tree branches and cause power cuts in {city}. | "
        "Drivers of high-sided vehicles on Route {route} should take care."),
    "wind_low": _w("15 | 20 | 25"), "wind_high": _w("30 | 35 | 40"), "gust": _w("45 | 50 | 55 | 60"),
    "loose": _w("bins and garden chairs | trampolines and tents | signs and fences | "
                "holiday decorations | patio umbrellas"),
    "heat": _w(
        "A heat advisory will last until {clock} on {weekday}. | "
        "Afternoon temperatures may climb to {hot} degrees in {city}. | "
        "Drink plenty of water and check on older neighbours. | "
        "Cooling centres will be open in {city} from {clock} until {clock2}. | "
        "Never leave children or pets in a parked car in this heat. | "
        "Nights will stay warm, with lows near {warm_night} degrees."),
    "hot": _w("95 | 97 | 98 | 100 | 102 | 104"), "warm_night": _w("74 | 76 | 78 | 80"),
    "snow": _w(
        "A winter storm warning begins at {clock} {day_ref}. | "
        "Snow totals of {snow_low} to {snow_high} inches are expected in the {area}. | "
        "Roads may be icy near {city}, especially on bridges. | "
        "Snow will be heaviest after {clock}, with up to an inch an hour. | "
        "Schools in {county} County may open late on {weekday}. | "
        "Clear snow from around your car exhaust before starting the engine."),
    "snow_low": _w("2 | 3 | 4 | 5"), "snow_high": _w("6 | 7 | 8 | 10 | 12"),
    "fog": _w(
        "Dense fog will reduce visibility to a quarter mile in the {area}. | "
        "Fog will lift by {clock}, leaving a {sky_day} day. | "
        "Drive slowly and use low beam headlights in the fog near {city}."),
}


def _forecast(rng: random.Random, season: str) -> str:
    """A temperature sentence whose high and low agree with the season (low < high)."""
    lo, hi = {"warm": (64, 92), "hot": (94, 104), "cold": (18, 38), "mild": (50, 75)}[season]
    high = rng.randint(lo, hi)
    low = high - rng.randint(10, 22)
    day = rng.choice(COMMON["weekday"])
    templates = (
        f"{day} will be {{sky_day}}, with a high near {high} and a low around {low}.",
        f"Highs will reach {high} degrees on {day}, with lows near {low}.",
        f"Tonight will be {{sky_night}}, with a low around {low}.",
        f"Expect a high of {high} in {{city}} on {day}.",
    )
    return fill(rng, rng.choice(templates), WEATHER)


def weather(rng: random.Random) -> str:
    """One bulletin. About 88% are flood bulletins containing FLOOD_PHRASE."""
    kind = rng.choices(("flood", "heat", "wind", "snow", "fog"), (88, 3, 3, 3, 3))[0]
    out: list[str] = []
    if rng.random() < 0.55:
        out.append(fill(rng, "{opener}", WEATHER))
    if kind == "flood":
        # Real bulletins list several areas; a second watch sentence (same odds) is natural
        # and doubles the examples of the phrase the demo is about.
        for _ in range(2 if rng.random() < 0.3 else 1):
            span = rng.choices(list(FLOOD_SPANS), list(FLOOD_SPANS.values()))[0]
            out.append(fill(rng, f"{FLOOD_PHRASE} {span} {{flood_tail}}.", WEATHER))
        out += [fill(rng, d, WEATHER) for d in rng.sample(WEATHER["flood_detail"], rng.randint(1, 2))]
        if rng.random() < 0.25:
            out.append(fill(rng, "{until}", WEATHER))
        if rng.random() < 0.25:
            out.append(_forecast(rng, rng.choice(("warm", "mild"))))
    else:
        out += [fill(rng, d, WEATHER) for d in rng.sample(WEATHER[kind], rng.randint(2, 3))]
        season = {"heat": "hot", "snow": "cold", "wind": "mild", "fog": "mild"}[kind]
        out.append(_forecast(rng, season))
    if rng.random() < 0.3:
        out.append(fill(rng, "{closer}", WEATHER))
    return " ".join(out)


# --- food -------------------------------------------------------------------------------------

# dish -> ingredients that really go into it, so recipes make sense.
RECIPES = {
    "pancakes": "flour | eggs | milk | butter | salt | sugar",
    "vegetable soup": "carrots | onions | leeks | potatoes | celery | stock",
    "tomato sauce": "tomatoes | garlic | olive oil | basil | onions | salt",
    "fried rice": "rice | eggs | peas | spring onions | soy sauce | carrots",
    "apple crumble": "apples | flour | butter | brown sugar | oats | cinnamon",
    "banana bread": "bananas | flour | eggs | butter | sugar | baking powder",
    "omelette": "eggs | butter | cheese | herbs | mushrooms | salt and pepper",
    "lentil stew": "lentils | onions | carrots | garlic | cumin | tomatoes",
    "potato salad": "potatoes | mayonnaise | chives | mustard | pickles | salt",
    "fruit salad": "apples | oranges | grapes | bananas | strawberries | lemon juice",
    "porridge": "oats | milk | honey | salt | raisins | cinnamon",
    "flatbread": "flour | water | salt | olive oil | yeast",
    "pea soup": "peas | onions | stock | mint | butter | cream",
    "roast chicken": "chicken | lemons | garlic | thyme | butter | potatoes",
    "fish pie": "white fish | potatoes | milk | butter | peas | parsley",
    "chocolate cake": "flour | cocoa | sugar | eggs | butter | milk",
    "corn fritters": "sweetcorn | flour | eggs | milk | spring onions | chilli",
    "mushroom risotto": "rice | mushrooms | onions | stock | butter | parmesan",
    "bean chilli": "kidney beans | tomatoes | onions | peppers | chilli | cumin",
    "lemon biscuits": "flour | butter | sugar | lemons | eggs",
    "shakshuka": "eggs | tomatoes | peppers | onions | paprika | cumin",
    "pasta salad": "pasta | tomatoes | olives | cucumber | feta | basil",
    "carrot cake": "carrots | flour | eggs | walnuts | sugar | cinnamon",
    "dal": "lentils | turmeric | ginger | garlic | onions | coriander",
    "gazpacho": "tomatoes | cucumber | peppers | garlic | olive oil | vinegar",
    "stuffed peppers": "peppers | rice | onions | tomatoes | cheese | parsley",
    "noodle soup": "noodles | stock | ginger | spring onions | cabbage | soy sauce",
    "cheese scones": "flour | butter | cheese | milk | baking powder",
}
RECIPES = {k: _w(v) for k, v in RECIPES.items()}

# Words of days out, shared by the food texts and the letters home.
OUTINGS = {
    "dish": list(RECIPES),
    "holiday_thing": _w("boat trip | picnic on the hill | old castle | night market | "
                        "swimming in the lake | walk through the woods | ice cream shop"),
    "trip": _w("holiday | week | trip | summer"),
    "sight": _w("a herd of deer | snowy mountains | the sea | a great waterfall | "
                "fields of sunflowers | a castle on a hill | fishing boats"),
}

FOOD = dict(COMMON) | OUTINGS | {
    "breakfast": _w("porridge with honey | toast and jam | a boiled egg and toast | "
                    "a croissant | waffles with syrup | a bowl of granola | kippers | "
                    "a bacon sandwich | fried mushrooms on toast | a smoothie | "
                    "yoghurt with berries | pancakes | muesli with cold milk | "
                    "scrambled eggs | a banana and some nuts | rice with pickles | "
                    "bread with cheese and tomato | a bowl of cereal"),
    "drink": _w("tea | coffee | orange juice | hot chocolate | milk | mint tea | lemonade | "
                "apple juice | water with lemon"),
    "lunch": _w("a cheese sandwich | tomato soup | a bowl of noodles | leftover stew | "
                "a jacket potato | a salad with beans | a bean burrito | fish and chips | "
                "a slice of pizza | rice and curry | dumplings | a falafel wrap | sushi | "
                "a pasty | a tuna salad | a ham and pickle roll | hummus and pitta | "
                "a vegetable pie | a bowl of ramen | tacos | a quiche"),
    "dinner": _w("roast chicken with potatoes | spaghetti with tomato sauce | lentil stew | "
                 "grilled fish and rice | vegetable curry | a mushroom risotto | "
                 "sausages and mash | a big bowl of noodle soup | baked beans on toast | "
                 "stuffed peppers | a shepherd's pie | lamb with rosemary | a tofu stir fry | "
                 "chicken and dumplings | meatballs with rice | a bean casserole | "
                 "grilled sardines | pork with apple sauce | a spinach lasagne"),
    "dessert": _w("apple crumble | ice cream | chocolate cake | a bowl of cherries | "
                  "rice pudding | lemon tart | fruit salad | a slice of carrot cake | "
                  "custard | plum jam on warm bread | a blackberry pie | pancakes with lemon | "
                  "a treacle sponge | gingerbread | baked pears | a meringue"),
    "eatery": _w("cafe | noodle bar | bakery | food stall | little restaurant | canteen | "
                 "pizza place | fish shop"),
    "place": _w("the station | the park | the library | the river | the market | the office | "
                "the harbour | the old town | the bus stop | the swimming pool"),
    "price": _w("one pound | two pounds | a dollar | three dollars | fifty pence | "
                "ninety cents | two euros"),
    "bread": _w("rye bread | sourdough | rolls | baguettes | buns | soda bread | bagels"),
    "spice": _w("pepper | cumin | paprika | nutmeg | cinnamon | ginger | chilli flakes"),
    "fruit_taste": _w("sweet | sour | juicy | sharp | tart | tangy"),
    "serve": _w("hot with crusty bread | warm with a spoon of yoghurt | cold the next day | "
                "with a green salad | with a glass of milk | straight from the pan"),
    "minutes": _w("five | ten | fifteen | twenty | twenty-five | thirty | forty"),
    "meal_line": _w(
        "For breakfast I had {breakfast} and a cup of {drink}. | "
        "At lunch we shared {lunch} at the {eatery} near {place}. | "
        "Dinner was {dinner}, and for dessert there was {dessert}. | "
        "My {relative} makes the best {dish} in the whole town. | "
        "On {weekday}s we always eat {dinner}. | "
        "I am not very hungry, so I will just have {lunch}. | "
        "The {eatery} on {street} sells {lunch} for {price}. | "
        "We bought {fruit} and {vegetable} at the market this {daypart}. | "
        "{fruit} are cheap at the market this week, only {price} a bag. | "
        "The baker on {street} sells fresh {bread} every morning. | "
        "These {fruit} taste {fruit_taste} and a little {fruit_taste2}. | "
        "Please save me some {dessert} for later. | "
        "After school the children had {breakfast} as a snack. | "
        "We had a picnic by {place} with {lunch} and {fruit}. | "
        "My favourite meal of the day is {daypart} tea with {bread}. | "
        "In {harvest_month} we pick {vegetable} from our garden."),
    "harvest_month": _w("June | July | August | September | October"),
    "cook_step": _w(
        "Heat a little oil in a pan. | "
        "Cook gently for {minutes} minutes, stirring now and then. | "
        "Add a pinch of salt and a little {spice}. | "
        "Let it cool for a few minutes before serving. | "
        "Bake in a hot oven for {minutes} minutes, until golden. | "
        "Taste it and add more {spice} if you like. | "
        "Bring a large pot of water to the boil. | "
        "Mix everything together in a big bowl."),
}


def food(rng: random.Random) -> str:
    """A recipe (about a third of the time) or a few sentences about meals and shopping."""
    if rng.random() < 0.35:
        dish = rng.choice(list(RECIPES))
        ing = rng.sample(RECIPES[dish], 3)
        out = [
            rng.choice((f"To make {dish}, you need {ing[0]}, {ing[1]} and {ing[2]}.",
                        f"Here is an easy way to make {dish} at home.",
                        f"This {dish} is quick to make and feeds four people.")),
            rng.choice((f"First, get the {ing[0]} and the {ing[1]} ready.",
                        f"Start by measuring out the {ing[0]} and the {ing[1]}.",
                        f"Put the {ing[0]} and the {ing[1]} on the table before you begin.")),
        ]
        out += [fill(rng, s, FOOD) for s in rng.sample(FOOD["cook_step"], 2)]
        out.append(fill(rng, f"Serve the {dish} {{serve}}.", FOOD))
        return " ".join(out)
    return " ".join(fill(rng, s, FOOD) for s in rng.sample(FOOD["meal_line"], rng.randint(3, 5)))


# --- animals ----------------------------------------------------------------------------------

ANIMALS = dict(COMMON) | {
    "zoo_animal": _w("elephants | zebras | lions | penguins | flamingos | tortoises | otters | "
                     "gorillas | meerkats | camels | kangaroos | red pandas | tigers | hippos | "
                     "orangutans | lemurs | sea lions | peacocks | wolves | bears | pelicans | "
                     "chimpanzees | tapirs | okapis | iguanas | crocodiles | parrots | llamas"),
    "savanna_animal": _w("zebras | elephants | antelopes | lions | wildebeest | buffalo | "
                         "warthogs | ostriches | rhinos | cheetahs"),
    "farm_animal": _w("cows | sheep | goats | pigs | hens | ducks | geese | horses | donkeys"),
    "pet": _w("cat | dog | rabbit | hamster | parrot | goldfish | tortoise | guinea pig"),
    "pet_spot": _w("on the windowsill | under the stairs | in a basket by the stove | "
                   "on the end of my bed | in the warm patch of sun | behind the sofa"),
    "wild_animal": _w("foxes | badgers | deer | hedgehogs | squirrels | owls | rabbits | "
                      "woodpeckers | bats | frogs | toads | moles | weasels | herons | "
                      "kingfishers | robins | blackbirds | beavers | otters | newts"),
    "sea_animal": _w("dolphins | seals | crabs | jellyfish | puffins | whales | starfish | "
                     "octopuses | sea turtles | gannets | lobsters | mackerel | sea urchins | "
                     "cormorants | porpoises"),
    "giraffe_line": _w(
        "At the zoo, the giraffes reached over the fence to eat leaves from a tall tree. | "
        "A young giraffe stood beside its mother in the shade of an acacia tree. | "
        "Giraffes have very long necks, so they can eat leaves that other animals cannot reach. | "
        "On the savanna, a giraffe bent its long legs to drink at the water hole. | "
        "The keeper gave the giraffes fresh branches at {clock}. | "
        "Three giraffes walked slowly across the plain as the sun went down. | "
        "A giraffe's tongue is dark and long, which helps it pull leaves off thorny branches. | "
        "The children laughed when the giraffe bent down to look at them. | "
        "From the top of the viewing platform we were eye to eye with a giraffe. | "
        "Giraffes are the tallest animals on land. | "
        "The baby giraffe at the zoo was already taller than the keeper. | "
        "A herd of giraffes moved between the trees, eating as they went."),
    "zoo_line": _w(
        "At the zoo, the {zoo_animal} were the first thing the children wanted to see. | "
        "We watched the {zoo_animal} being fed at {clock}. | "
        "The {zoo_animal} were asleep in the sun when we arrived. | "
        "A keeper told us that the {zoo_animal} eat {zoo_food} every day. | "
        "Our class visited the zoo on a {weather} {weekday}. | "
        "The path led past the {zoo_animal} and then the {zoo_animal2}."),
    "zoo_food": _w("fish | fruit and leaves | hay | meat | insects | grass and carrots"),
    "weather": _w("sunny | rainy | windy | cold | warm | grey | bright"),
    "savanna_line": _w(
        "On the savanna, {savanna_animal} gathered near the water hole. | "
        "The dry season is hard for the {savanna_animal}, because the grass turns brown. | "
        "At dawn, a group of {savanna_animal} crossed the river. | "
        "Lions rest in the shade for most of the hot afternoon. | "
        "Elephants use their trunks to drink, to smell and to greet each other."),
    "farm_line": _w(
        "On the farm, the {farm_animal} are let out into the field every morning. | "
        "The {farm_animal} follow the farmer when they hear the gate. | "
        "In spring the farm is full of young animals. | "
        "We collected eggs from the hens before breakfast. | "
        "The {farm_animal} need fresh water and hay every day, even in {season}."),
    "pet_line": _w(
        "Our {pet} likes to sleep {pet_spot}. | "
        "My {relative} has a {pet} that is {pet_age} years old. | "
        "Every {daypart} the {pet} waits by the door for its dinner. | "
        "A {pet} needs care, food and a clean place to live. | "
        "The {cage_pet} got out of its cage and hid {pet_spot}."),
    "cage_pet": _w("hamster | rabbit | guinea pig | parrot | budgie | mouse"),
    "pet_age": _w("two | three | four | five | six | eight | ten | twelve"),
    "wild_line": _w(
        "At night, {wild_animal} come into the garden to look for food. | "
        "In the woods near {city} you can sometimes see {wild_animal}. | "
        "{wild_animal} are most active at dusk and dawn. | "
        "We found tracks of {wild_animal} in the snow by the gate."),
    "sea_line": _w(
        "From the boat we saw {sea_animal} near the rocks. | "
        "{sea_animal} live in the cold water off the coast. | "
        "At low tide the rock pools are full of crabs and small fish. | "
        "Dolphins swim together in groups called pods. | "
        "Whales breathe air, so they must come up to the surface."),
    "animal_fact": _w(
        "A group of lions is called a pride. | "
        "Bees tell each other where flowers are by dancing. | "
        "Penguins cannot fly, but they are excellent swimmers. | "
        "An octopus has eight arms. | "
        "Camels can go for days without drinking water. | "
        "Owls can turn their heads a very long way round. | "
        "Elephants are the largest animals on land. | "
        "A baby kangaroo is called a joey. | "
        "Spiders have eight legs, and insects have six. | "
        "Hedgehogs sleep through most of the winter. | "
        "Frogs lay their eggs in water. | "
        "Zebras have black and white stripes, and no two zebras look the same."),
}


def animals(rng: random.Random) -> str:
    """A few sentences about one setting. Giraffes appear in zoo and savanna documents only."""
    setting = rng.choice(("zoo", "savanna", "farm", "pet", "wild", "sea"))
    lines = rng.sample(ANIMALS[f"{setting}_line"], rng.randint(2, 3))
    if setting in ("zoo", "savanna"):
        lines += rng.sample(ANIMALS["giraffe_line"], rng.randint(1, 2))
    if rng.random() < 0.5:
        lines.append(rng.choice(ANIMALS["animal_fact"]))
    rng.shuffle(lines)
    return " ".join(fill(rng, s, ANIMALS) for s in lines)


# --- daily routines ---------------------------------------------------------------------------

ROUTINE = dict(COMMON) | {
    "transport": _w("bus | train | tram | bike | ferry | car"),
    "work_place": _w("the office | the hospital | the school | the bakery | the library | "
                     "the post office | the garage | the shop on {street} | the factory | "
                     "the warehouse | the dentist | the town hall | the museum | the airport | "
                     "the laboratory | the nursery | the printing works | the fire station"),
    "job_task": _w("answers emails | teaches maths | fixes cars | sorts the post | "
                   "serves customers | looks after patients | stacks the shelves | "
                   "checks the machines | bakes bread | repairs bicycles | designs bridges | "
                   "drives a delivery van | cuts hair | counts the money | paints houses | "
                   "answers the telephone | plans the timetables | guides the visitors"),
    "evening": _w("cook dinner together | play cards | go for a walk by the river | "
                  "read in the garden | watch the news | call my {relative} | "
                  "practise the piano | do the washing up | help with homework"),
    "weekly": _w("go swimming | visit my {relative} | clean the house | go to the market | "
                 "play football in the park | sing in a choir | water the garden | "
                 "go to the library | bake bread"),
    "chore": _w("make the bed | feed the cat | take out the rubbish | hang out the washing | "
                "water the plants | iron a shirt | pack my bag | sweep the kitchen floor | "
                "empty the dishwasher | fold the laundry | polish my shoes | vacuum the stairs | "
                "wipe the table | lock the back door"),
    "routine_line": _w(
        "I wake up at {morning_clock} on weekdays. | "
        "The alarm goes off at {morning_clock}, but I stay in bed a little longer. | "
        "First I {chore}, and then I have breakfast. | "
        "After breakfast I take the {transport} to {work_place}. | "
        "My {relative} takes the {transport} to work and {job_task} all day. | "
        "The {transport} was late again this {daypart}. | "
        "At {work_place} I have lunch at {clock}. | "
        "In the evening we {evening}. | "
        "On {weekday}s I {weekly}. | "
        "Before bed I {chore} and set the alarm. | "
        "I usually go to sleep at about {clock}. | "
        "On {weekday} {daypart}s the house is quiet. | "
        "It takes me {minutes} minutes to walk to {work_place}. | "
        "When it rains I take the {transport} instead of walking. | "
        "At the weekend we get up late and {weekly}. | "
        "Every {month} we {weekly} more often because the days are longer."),
    "minutes": _w("five | ten | fifteen | twenty | twenty-five | thirty | forty"),
}


def routines(rng: random.Random) -> str:
    """A short account of someone's day: lines keep roughly the order of a day."""
    n = len(ROUTINE["routine_line"])
    picks = sorted(rng.sample(range(n), rng.randint(3, 5)))
    return " ".join(fill(rng, ROUTINE["routine_line"][i], ROUTINE) for i in picks)


# --- facts ------------------------------------------------------------------------------------

# (country, capital, continent or "" when a one-word continent would mislead)
COUNTRIES = [
    ("France", "Paris", "Europe"), ("Spain", "Madrid", "Europe"), ("Italy", "Rome", "Europe"),
    ("Germany", "Berlin", "Europe"), ("Portugal", "Lisbon", "Europe"),
    ("Norway", "Oslo", "Europe"), ("Sweden", "Stockholm", "Europe"),
    ("Finland", "Helsinki", "Europe"), ("Denmark", "Copenhagen", "Europe"),
    ("Poland", "Warsaw", "Europe"), ("Austria", "Vienna", "Europe"),
    ("Hungary", "Budapest", "Europe"), ("Greece", "Athens", "Europe"),
    ("Ireland", "Dublin", "Europe"), ("Iceland", "Reykjavik", "Europe"),
    ("Belgium", "Brussels", "Europe"), ("the Netherlands", "Amsterdam", "Europe"),
    ("Switzerland", "Bern", "Europe"), ("Romania", "Bucharest", "Europe"),
    ("Croatia", "Zagreb", "Europe"), ("Serbia", "Belgrade", "Europe"),
    ("Ukraine", "Kyiv", "Europe"), ("Egypt", "Cairo", "Africa"), ("Kenya", "Nairobi", "Africa"),
    ("Ghana", "Accra", "Africa"), ("Nigeria", "Abuja", "Africa"), ("Morocco", "Rabat", "Africa"),
    ("Ethiopia", "Addis Ababa", "Africa"), ("Senegal", "Dakar", "Africa"),
    ("Uganda", "Kampala", "Africa"), ("Zambia", "Lusaka", "Africa"),
    ("Japan", "Tokyo", "Asia"), ("China", "Beijing", "Asia"), ("India", "New Delhi", "Asia"),
    ("Thailand", "Bangkok", "Asia"), ("Vietnam", "Hanoi", "Asia"),
    ("Indonesia", "Jakarta", "Asia"), ("the Philippines", "Manila", "Asia"),
    ("South Korea", "Seoul", "Asia"), ("Nepal", "Kathmandu", "Asia"),
    ("Mongolia", "Ulaanbaatar", "Asia"), ("Turkey", "Ankara", ""),
    ("Peru", "Lima", "South America"), ("Argentina", "Buenos Aires", "South America"),
    ("Colombia", "Bogota", "South America"), ("Brazil", "Brasilia", "South America"),
    ("Uruguay", "Montevideo", "South America"), ("Venezuela", "Caracas", "South America"),
    ("Mexico", "Mexico City", "North America"), ("Canada", "Ottawa", "North America"),
    ("Cuba", "Havana", "North America"), ("Jamaica", "Kingston", "North America"),
    ("Australia", "Canberra", "Oceania"), ("New Zealand", "Wellington", "Oceania"),
]
PLANETS = ("Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune")
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")

SCIENCE = _w(
    "Water freezes at zero degrees Celsius. | "
    "At sea level, water boils at 100 degrees Celsius. | "
    "The Earth goes around the Sun once a year. | "
    "The Moon goes around the Earth about once a month. | "
    "Plants use sunlight to make food from water and carbon dioxide. | "
    "Sound travels faster through water than through air. | "
    "Light from the Sun takes about eight minutes to reach the Earth. | "
    "Bees make honey from the nectar of flowers. | "
    "The heart pumps blood all around the body. | "
    "An adult human has 206 bones. | "
    "Jupiter is the largest planet in our solar system. | "
    "Ice floats because it is lighter than the same amount of liquid water. | "
    "A magnet attracts iron and steel. | "
    "A rainbow appears when sunlight shines through raindrops. | "
    "The Sun is a star. | "
    "Air is mostly made of nitrogen and oxygen. | "
    "Lightning is much hotter than the surface of the Sun. | "
    "Diamonds are made of carbon. | "
    "Warm air rises and cool air sinks. | "
    "Seeds need water, warmth and air to start growing. | "
    "The tides are caused mainly by the pull of the Moon. | "
    "Metals such as copper let electricity flow through them easily. | "
    "Your lungs take in oxygen every time you breathe. | "
    "Leaves change colour in autumn when trees stop making green chlorophyll. | "
    "Volcanoes form where melted rock rises up through the crust. | "
    "Earthquakes happen when huge plates of rock slip past each other. | "
    "Fossils are the remains of plants and animals that lived long ago. | "
    "Butterflies start life as caterpillars. | "
    "Tadpoles grow into frogs. | "
    "Copper, iron and gold are all metals. | "
    "A thermometer measures temperature. | "
    "Saturn has bright rings made of ice and rock. | "
    "Clouds are made of tiny drops of water or crystals of ice. | "
    "Oxygen is the gas we need to breathe. | "
    "Vitamins help keep the body healthy.")
GEOGRAPHY = _w(
    "Mount Everest is the highest mountain on Earth. | "
    "The Pacific is the largest and deepest ocean. | "
    "The Sahara is a huge desert in North Africa. | "
    "The Amazon rainforest is in South America. | "
    "Antarctica is the coldest continent. | "
    "The Nile flows north into the Mediterranean Sea. | "
    "There are seven continents. | "
    "Australia is both a country and a continent. | "
    "Most of the surface of the Earth is covered by water. | "
    "The Danube flows through Vienna, Budapest and Belgrade. | "
    "Greenland is the largest island in the world. | "
    "The equator divides the Earth into a northern and a southern half.")
MEASURES = _w(
    "There are seven days in a week. | There are twelve months in a year. | "
    "There are sixty minutes in an hour. | There are sixty seconds in a minute. | "
    "There are twenty-four hours in a day. | "
    "A year has 365 days, or 366 in a leap year. | "
    "There are 100 centimetres in a metre. | There are 1,000 metres in a kilometre. | "
    "A dozen means twelve. | A century is one hundred years. | "
    "A decade is ten years. | There are 1,000 grams in a kilogram. | "
    "A triangle has three sides, and a square has four. | "
    "A hexagon has six sides. | An octagon has eight sides. | "
    "A pentagon has five sides. | A fortnight is two weeks. | "
    "A millennium is one thousand years. | A circle has no corners.")


def _fact(rng: random.Random, kind: str) -> str:
    if kind == "capital":
        country, capital, continent = rng.choice(COUNTRIES)
        forms = [f"The capital of {country} is {capital}.",
                 f"{capital} is the capital city of {country}.",
                 f"If you visit {capital}, you are in {country}."]
        if continent:
            forms += [f"{country} is a country in {continent}.",
                      f"{capital}, the capital of {country}, is in {continent}."]
        return rng.choice(forms)
    if kind == "planet":
        i = rng.randrange(8)
        return rng.choice((f"{PLANETS[i]} is the {ORDINALS[i]} planet from the Sun.",
                           f"The {ORDINALS[i]} planet from the Sun is {PLANETS[i]}."))
    if kind == "sum":
        a, b = rng.randint(1, 50), rng.randint(1, 50)
        op = rng.randrange(4)
        if op == 0:
            return _cap(f"{num_words(a)} plus {num_words(b)} is {num_words(a + b)}.")
        if op == 1:
            a, b = max(a, b), min(a, b)
            return _cap(f"{num_words(a)} minus {num_words(b)} is {num_words(a - b)}.")
        if op == 2:
            a, b = rng.randint(2, 12), rng.randint(2, 12)
            return _cap(f"{num_words(a)} times {num_words(b)} equals {num_words(a * b)}.")
        return f"Half of {2 * a} is {a}."
    if kind == "parity":
        n = rng.randint(2, 99)
        return _cap(f"{num_words(n)} is an {'even' if n % 2 == 0 else 'odd'} number.")
    return rng.choice({"science": SCIENCE, "geography": GEOGRAPHY, "measure": MEASURES}[kind])


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


FACT_INTROS = {
    "geography": _w("Here are some facts about the world. | A short geography lesson. | "
                    "Questions from the {weekday} quiz, with answers. | Notes for the map test."),
    "science": _w("Some things we learned in science class. | A few facts about nature. | "
                  "Notes from the {weekday} science lesson. | Did you know these facts?"),
    "numbers": _w("Practice for the maths test. | Some number facts. | "
                  "Homework for {weekday}: check these sums. | Counting and measuring."),
}
FACT_MIX = {
    "geography": ("capital", "capital", "capital", "geography"),
    "science": ("science", "science", "planet"),
    "numbers": ("sum", "sum", "parity", "measure"),
}


def facts(rng: random.Random) -> str:
    """A short themed list of true statements: geography, science or numbers."""
    theme = rng.choice(tuple(FACT_MIX))
    out = [fill(rng, rng.choice(FACT_INTROS[theme]), COMMON)] if rng.random() < 0.5 else []
    seen: set[str] = set()
    for _ in range(rng.randint(4, 6)):
        f = _fact(rng, rng.choice(FACT_MIX[theme]))
        if f not in seen:
            seen.add(f)
            out.append(f)
    return " ".join(out)


# --- letters and small talk -------------------------------------------------------------------

LETTERS = dict(COMMON) | OUTINGS | {
    "addressee": _w("Grandma | Grandpa | Mum | Dad | Auntie | Uncle | everyone | "
                    "neighbours | friends"),
    "holiday": _w("the seaside | the mountains | the lake | the old town | the island | "
                  "the countryside | a farm in the hills"),
    "gift": _w("book | scarf | card | cake | jumper | box of chocolates | plant | kite | "
               "puzzle | umbrella"),
    "feel": _w("lovely | wonderful | very kind of you | perfect | just what I needed"),
    "nice": _w("lovely | wonderful | great | relaxing | busy but happy"),
    "wadj": _w("sunny | rainy | windy | cold | hot | mild | foggy | changeable"),
    "letter_line": _w(
        "Thank you so much for the {gift}, it is {feel}. | "
        "We are having a {nice} time at {holiday}. | "
        "The weather here has been {wadj} all week. | "
        "Yesterday we walked to {holiday} and had {fruit} for lunch. | "
        "I hope you are feeling better since {weekday}. | "
        "We will be home on {weekday}, in time for dinner. | "
        "The children have learned to swim and want to go back next {season}. | "
        "Could you water the plants while we are away until {weekday}? | "
        "We miss you and think of you every {daypart}. | "
        "The {holiday_thing} was the best part of the {trip}. | "
        "On {weekday} it rained, so we played cards and read books. | "
        "We saw {sight} from the window of the {transport}. | "
        "Please come and visit us in {month}. | "
        "The food here is good, but nothing beats your {dish}. | "
        "I started a new job at the {shop} on {street} last {weekday}."),
    "shop": _w("bakery | bookshop | flower shop | hardware shop | cafe | chemist"),
    "signoff": _w("With love from all of us. | See you soon. | Best wishes. | "
                  "Lots of love. | Take care and write back soon. | Love and hugs. | "
                  "Write soon. | All our love. | Speak soon. | Hugs from everyone here. | "
                  "Yours, as ever. | See you in {month}."),
    "talk_line": _w(
        "\"Lovely {daypart}, isn't it?\" said the {stranger} at the bus stop. | "
        "\"It looks like {wadj} weather again,\" said the man behind the {counter}. | "
        "\"Have you tried the new {shop} on {street}?\" asked my {relative}. | "
        "\"How was your weekend?\" asked my {relative}. | "
        "\"We mostly stayed in and {stay_in},\" I said. | "
        "\"Is this seat free?\" asked a {stranger} on the {transport}. | "
        "\"Do you have the time?\" \"It is nearly {clock}.\" | "
        "\"I love your {garment},\" said the {stranger}. | "
        "\"Are you going to the {event} on {weekday}?\" asked the {stranger}. | "
        "\"Mind the step,\" said the {stranger} as we got off the {transport}. | "
        "\"The {transport} is late again,\" sighed the man next to me. | "
        "\"Excuse me, do you know the way to {place}?\" | "
        "\"See you on {weekday}, then!\" called my {relative} from the door. | "
        "\"What a {wadj} day,\" said the postman, handing me the letters. | "
        "\"Lovely {fruit} today,\" said the woman at the fruit stall. | "
        "\"Would you like a cup of {drink}?\" asked my {relative}."),
    "stay_in": _w("baked a cake | read | did a puzzle | cleaned the kitchen | watched films | "
                  "slept a lot"),
    "stranger": _w("young man | old lady | woman with a dog | student | man in a blue coat | "
                   "girl with a violin case | bus driver"),
    "garment": _w("hat | scarf | coat | umbrella | boots | jumper"),
    "event": _w("fair | concert | match | school play | market | street party"),
    "transport": _w("bus | train | tram | ferry"),
    "counter": _w("counter | till | bar | desk"),
    "place": _w("the station | the library | the market | the town hall | the hospital"),
    "drink": _w("tea | coffee | hot chocolate"),
}


def letters(rng: random.Random) -> str:
    """A short letter or postcard, or a few lines of small talk."""
    if rng.random() < 0.4:
        return " ".join(fill(rng, s, LETTERS) for s in rng.sample(LETTERS["talk_line"], rng.randint(2, 4)))
    body = " ".join(fill(rng, s, LETTERS) for s in rng.sample(LETTERS["letter_line"], rng.randint(3, 4)))
    return (fill(rng, "Dear {addressee},", LETTERS) + "\n" + body + "\n"
            + fill(rng, "{signoff}", LETTERS))


# --- the corpus -------------------------------------------------------------------------------

def _story(rng: random.Random) -> str:
    return stories.story(rng).text


GENERATORS = {
    "weather": weather, "stories": _story, "food": food, "animals": animals,
    "routines": routines, "facts": facts, "letters": letters,
}
# Documents per domain, relative. Tuned so weather and stories are ~30% of the bytes each
# (weather needs >= 1,500 flood sentences per 1.2 MB; stories carry the name-copying lesson)
# and the other five domains share the rest.
WEIGHTS = {"weather": 33, "stories": 21, "food": 8, "animals": 9, "routines": 8, "facts": 8,
           "letters": 8}


def everyday_documents(seed: int = 0, target_bytes: int = 1_200_000) -> list[Doc]:
    """Generate documents until their text (joined by blank lines) reaches `target_bytes`."""
    rng = random.Random(seed)
    domains, weights = list(WEIGHTS), list(WEIGHTS.values())
    docs: list[Doc] = []
    seen: set[str] = set()
    total = 0
    while total < target_bytes:
        domain = rng.choices(domains, weights)[0]
        text = GENERATORS[domain](rng)
        if text in seen:                 # a repeated document would leak across the split
            continue
        seen.add(text)
        docs.append(Doc(domain, text))
        total += len(text) + 2           # ASCII: characters == bytes; +2 for "\n\n"
    return docs


def everyday_english(seed: int = 0, target_bytes: int = 1_200_000) -> str:
    """The Everyday English corpus: documents separated by blank lines ("\\n\\n")."""
    return "\n\n".join(d.text for d in everyday_documents(seed, target_bytes))
